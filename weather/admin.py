"""Admin of weather sources (provider, credentials written encrypted, health) and vintages."""

from django import forms
from django.contrib import admin

from weather.models import WeatherSource, WeatherVintage
from weather.services import weather_source_credentials_set


class WeatherSourceForm(forms.ModelForm):
    apikey = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted (Fernet); leave empty to keep the stored key.",
    )
    clear_credentials = forms.BooleanField(required=False)

    class Meta:
        model = WeatherSource
        fields = ["city", "provider", "enabled"]


@admin.register(WeatherSource)
class WeatherSourceAdmin(admin.ModelAdmin):
    form = WeatherSourceForm
    list_display = [
        "city",
        "provider",
        "enabled",
        "has_credentials",
        "last_success_at",
        "last_failure_at",
        "last_error",
    ]
    readonly_fields = ["last_success_at", "last_failure_at", "last_error"]
    list_select_related = ["city"]

    @admin.display(boolean=True, description="credentials")
    def has_credentials(self, obj):
        return bool(obj.credentials_encrypted)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.cleaned_data.get("clear_credentials"):
            weather_source_credentials_set(source=obj, credentials={})
        elif form.cleaned_data.get("apikey"):
            weather_source_credentials_set(
                source=obj, credentials={"apikey": form.cleaned_data["apikey"]}
            )


@admin.register(WeatherVintage)
class WeatherVintageAdmin(admin.ModelAdmin):
    list_display = [
        "city",
        "provider",
        "issued_at",
        "valid_from",
        "valid_until",
        "hours",
        "missing_hours",
    ]
    list_filter = ["provider", "city"]
    list_select_related = ["city"]
    readonly_fields = [f.name for f in WeatherVintage._meta.fields]
