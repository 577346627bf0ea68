# Models moved between apps keep their tables (db_table): this migration changes only
# Django's state, never the database (SeparateDatabaseAndState with no database
# operations), so no row moves. tests/test_migrations.py migrates a filled database
# across it.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cities', '0001_initial'),
        ('jobs', '0001_initial'),
        ('training', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='modelversion',
                    name='city',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='model_versions', to='cities.city'),
                ),
                migrations.AlterField(
                    model_name='modelversion',
                    name='job',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='jobs.job'),
                ),
            ],
            database_operations=[],
        ),
    ]
