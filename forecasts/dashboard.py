"""The analysts' dashboard at / (login required, organisation-scoped)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.safestring import mark_safe

from energy_site.demo_report import band_svg
from forecasts.models import Job
from forecasts.selectors import organization_id_for


@login_required
def index(request):
    from optimization.models import DispatchRun
    from training.models import ModelVersion

    org_id = organization_id_for(request.user)
    cities = []
    if org_id is not None:
        from forecasts.models import City

        for city in City.objects.filter(organization_id=org_id):
            run = city.forecast_runs.prefetch_related("points").first()
            points = [
                {
                    "demand": p.demand,
                    "confidence_lower": p.confidence_lower,
                    "confidence_upper": p.confidence_upper,
                }
                for p in (run.points.all() if run else [])
            ]
            cities.append(
                {
                    "city": city,
                    "model": ModelVersion.objects.filter(
                        city=city, status=ModelVersion.Status.ACTIVE
                    ).first(),
                    "run": run,
                    "chart": mark_safe(band_svg(points)) if len(points) > 1 else "",
                    "dispatch": DispatchRun.objects.filter(forecast_run__city=city).first(),
                }
            )
    jobs = Job.objects.filter(organization_id=org_id).order_by("-created_at")[:15]
    return render(request, "dashboard/index.html", {"cities": cities, "jobs": jobs})
