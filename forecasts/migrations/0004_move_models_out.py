# Models moved between apps keep their tables (db_table): this migration changes only
# Django's state, never the database (SeparateDatabaseAndState with no database
# operations), so no row moves. tests/test_migrations.py migrates a filled database
# across it.

import django.db.models.deletion
from django.db import migrations, models

MOVED = {
    "organization": "accounts",
    "membership": "accounts",
    "apikey": "accounts",
    "job": "jobs",
    "city": "cities",
    "observation": "cities",
}


def _relabel(apps, forward: bool) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects
    for model, app_label in MOVED.items():
        old, new = ("forecasts", app_label) if forward else (app_label, "forecasts")
        if not content_types.filter(app_label=new, model=model).exists():
            content_types.filter(app_label=old, model=model).update(app_label=new)


def content_types_follow(apps, schema_editor):
    _relabel(apps, forward=True)


def content_types_return(apps, schema_editor):
    _relabel(apps, forward=False)


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('cities', '0001_initial'),
        ('forecasts', '0003_city_observation_summary'),
        ('jobs', '0001_initial'),
        ('optimization', '0003_city_and_job_in_their_apps'),
        ('training', '0002_city_and_job_in_their_apps'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='city',
                    name='organization',
                ),
                migrations.RemoveField(
                    model_name='observation',
                    name='city',
                ),
                migrations.AlterField(
                    model_name='forecast',
                    name='city',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='forecasts', to='cities.city'),
                ),
                migrations.AlterField(
                    model_name='forecastrun',
                    name='city',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='forecast_runs', to='cities.city'),
                ),
                migrations.RemoveField(
                    model_name='job',
                    name='organization',
                ),
                migrations.RemoveField(
                    model_name='job',
                    name='user',
                ),
                migrations.AlterField(
                    model_name='forecastrun',
                    name='job',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='jobs.job'),
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='organization',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='ApiKey',
                ),
                migrations.DeleteModel(
                    name='Observation',
                ),
                migrations.DeleteModel(
                    name='City',
                ),
                migrations.DeleteModel(
                    name='Job',
                ),
                migrations.DeleteModel(
                    name='Organization',
                ),
                migrations.DeleteModel(
                    name='Membership',
                ),
            ],
            database_operations=[],
        ),
        # Admin log entries and permissions point at content types: relabel the moved
        # models' rows so that they follow the models instead of being orphaned.
        migrations.RunPython(content_types_follow, content_types_return),
    ]
