# Issues 10 (leases) and 12 (request ids) each added a field to Job in parallel.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('jobs', '0002_job_lease'),
        ('jobs', '0002_job_request_id'),
    ]

    operations = [
    ]
