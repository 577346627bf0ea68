# Models moved between apps keep their tables (db_table): this migration changes only
# Django's state, never the database (SeparateDatabaseAndState with no database
# operations), so no row moves. tests/test_migrations.py migrates a filled database
# across it.

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('forecasts', '0003_city_observation_summary'),
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='City',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('country', models.CharField(help_text='ISO 3166 alpha-2, used for holidays', max_length=2)),
                        ('timezone', models.CharField(help_text='IANA time zone, e.g. Australia/Melbourne', max_length=64)),
                        ('latitude', models.FloatField(validators=[django.core.validators.MinValueValidator(-90), django.core.validators.MaxValueValidator(90)])),
                        ('longitude', models.FloatField(validators=[django.core.validators.MinValueValidator(-180), django.core.validators.MaxValueValidator(180)])),
                        ('resolution_minutes', models.PositiveSmallIntegerField(choices=[(30, '30 minutes'), (60, '60 minutes')], default=30)),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('observation_count', models.PositiveBigIntegerField(default=0, editable=False)),
                        ('first_observation', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('last_observation', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('observations_changed_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='cities', to='accounts.organization')),
                    ],
                    options={
                        'verbose_name_plural': 'cities',
                        'db_table': 'forecasts_city',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Observation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('timestamp', models.DateTimeField()),
                        ('demand_mw', models.FloatField(blank=True, null=True)),
                        ('temperature_c', models.FloatField(blank=True, null=True)),
                        ('humidity_pct', models.FloatField(blank=True, null=True)),
                        ('wind_speed_ms', models.FloatField(blank=True, null=True)),
                        ('irradiance_wm2', models.FloatField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('city', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='observations', to='cities.city')),
                    ],
                    options={
                        'db_table': 'forecasts_observation',
                        'ordering': ['city', 'timestamp'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='city',
                    constraint=models.UniqueConstraint(fields=('organization', 'name'), name='unique_city_per_org'),
                ),
                migrations.AddConstraint(
                    model_name='observation',
                    constraint=models.UniqueConstraint(fields=('city', 'timestamp'), name='unique_observation'),
                ),
            ],
            database_operations=[],
        ),
    ]
