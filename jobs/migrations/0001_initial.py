# Models moved between apps keep their tables (db_table): this migration changes only
# Django's state, never the database (SeparateDatabaseAndState with no database
# operations), so no row moves. tests/test_migrations.py migrates a filled database
# across it.

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('forecasts', '0003_city_observation_summary'),
        ('accounts', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Job',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('kind', models.CharField(choices=[('ingest', 'Ingest'), ('train', 'Train'), ('forecast', 'Forecast'), ('optimize', 'Optimize')], max_length=10)),
                        ('params', models.JSONField(blank=True, default=dict)),
                        ('state', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='queued', max_length=10)),
                        ('progress', models.PositiveSmallIntegerField(default=0)),
                        ('result', models.JSONField(blank=True, null=True)),
                        ('error', models.JSONField(blank=True, null=True)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('celery_task_id', models.CharField(blank=True, max_length=64)),
                        ('request_key', models.CharField(blank=True, db_index=True, max_length=64)),
                        ('idempotency_key', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='jobs', to='accounts.organization')),
                        ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'forecasts_job',
                        'ordering': ['-created_at'],
                        'indexes': [models.Index(fields=['kind', 'state', 'created_at'], name='job_claim')],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('idempotency_key', ''), _negated=True), fields=('organization', 'idempotency_key'), name='unique_idempotency_key_per_org')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
