"""The analysts' dashboard at / (login required, organisation-scoped)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.safestring import mark_safe

from accounts.selectors import organization_id_for
from dashboard.charts import band_svg
from dashboard.selectors import dashboard_for_organization


@login_required
def index(request):
    panels, jobs = dashboard_for_organization(organization_id_for(request.user))
    cities = [
        {
            "city": panel.city,
            "model": panel.model,
            "run": panel.run,
            # band_svg escapes nothing: it draws numbers only.
            "chart": mark_safe(band_svg(panel.points)) if len(panel.points) > 1 else "",
            "dispatch": panel.dispatch,
        }
        for panel in panels
    ]
    return render(request, "dashboard/index.html", {"cities": cities, "jobs": jobs})
