
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cities', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='city',
            name='active_model',
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
    ]
