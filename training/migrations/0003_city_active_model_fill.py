# Cities now carry a copy of their active model's summary (GET /cities/ reads it
# instead of the registry, training/services.py:city_active_model_refresh keeps it):
# fill it for the models that are active already.

from django.db import migrations


def active_models_copy(apps, schema_editor):
    ModelVersion = apps.get_model("training", "ModelVersion")
    City = apps.get_model("cities", "City")
    for active in ModelVersion.objects.filter(status="active"):
        City.objects.filter(pk=active.city_id).update(
            active_model={
                "id": active.pk,
                "version": active.version,
                "algorithm": active.algorithm,
                "mape": (active.metrics.get("model") or {}).get("mape"),
            }
        )


def active_models_forget(apps, schema_editor):
    apps.get_model("cities", "City").objects.update(active_model=None)


class Migration(migrations.Migration):
    dependencies = [
        ("cities", "0002_city_active_model"),
        ("training", "0002_city_and_job_in_their_apps"),
    ]

    operations = [migrations.RunPython(active_models_copy, active_models_forget)]
