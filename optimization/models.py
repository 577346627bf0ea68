"""A city's generation fleet and the dispatch plans computed for its forecasts."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

non_negative = [MinValueValidator(0)]
fraction = [MinValueValidator(0), MaxValueValidator(1)]


class GenerationSource(models.Model):
    class Kind(models.TextChoices):
        SOLAR = "solar"
        WIND = "wind"
        HYDRO = "hydro"
        GAS = "gas"
        COAL = "coal"
        NUCLEAR = "nuclear"
        BIOMASS = "biomass"
        IMPORTS = "imports"
        OTHER = "other"

    city = models.ForeignKey("forecasts.City", on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    capacity_mw = models.FloatField(validators=non_negative)
    marginal_cost = models.FloatField(default=0, help_text="currency per MWh")
    co2_t_per_mwh = models.FloatField(default=0, validators=non_negative)
    renewable = models.BooleanField(default=False)
    ramp_limit = models.FloatField(
        null=True, blank=True, validators=fraction, help_text="fraction of capacity per hour"
    )
    must_run_fraction = models.FloatField(default=0, validators=fraction)
    daily_energy_budget_mwh = models.FloatField(null=True, blank=True, validators=non_negative)
    availability = models.FloatField(
        default=1, validators=fraction, help_text="per-unit availability when no profile is set"
    )
    availability_profile = models.JSONField(
        default=list,
        blank=True,
        help_text="24 per-unit values, one per local hour of the day (empty: constant)",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["city", "marginal_cost", "name"]
        constraints = [
            models.UniqueConstraint(fields=["city", "name"], name="unique_source_name_per_city")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.capacity_mw:g} MW)"


class StorageUnit(models.Model):
    city = models.ForeignKey(
        "forecasts.City", on_delete=models.CASCADE, related_name="storage_units"
    )
    name = models.CharField(max_length=100)
    energy_mwh = models.FloatField(validators=non_negative)
    power_mw = models.FloatField(validators=non_negative)
    charge_efficiency = models.FloatField(default=0.95, validators=fraction)
    discharge_efficiency = models.FloatField(default=0.95, validators=fraction)
    initial_soc = models.FloatField(
        default=0.5, validators=fraction, help_text="fraction of energy"
    )
    min_soc = models.FloatField(default=0.0, validators=fraction)
    max_soc = models.FloatField(default=1.0, validators=fraction)
    cycle_cost = models.FloatField(default=0, validators=non_negative, help_text="per MWh out")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["city", "name"]
        constraints = [
            models.UniqueConstraint(fields=["city", "name"], name="unique_storage_name_per_city")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.power_mw:g} MW / {self.energy_mwh:g} MWh)"

    @property
    def round_trip_efficiency(self) -> float:
        return self.charge_efficiency * self.discharge_efficiency


class DispatchRun(models.Model):
    class Mode(models.TextChoices):
        BASE = "base"
        RESERVE = "reserve"
        STOCHASTIC = "stochastic"

    class Status(models.TextChoices):
        PENDING = "pending"
        OPTIMAL = "optimal"
        OPTIMAL_WITH_SHORTFALLS = "optimal_with_shortfalls"
        INFEASIBLE = "infeasible"
        TIME_LIMIT = "time_limit"

    forecast_run = models.ForeignKey(
        "forecasts.ForecastRun", on_delete=models.CASCADE, related_name="dispatch_runs"
    )
    job = models.ForeignKey("forecasts.Job", null=True, blank=True, on_delete=models.SET_NULL)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.BASE)
    policy = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField(blank=True)
    objective = models.FloatField(null=True, blank=True)
    solver = models.CharField(max_length=40, blank=True)
    solver_version = models.CharField(max_length=40, blank=True)
    solve_seconds = models.FloatField(null=True, blank=True)
    demand_mwh = models.FloatField(null=True, blank=True)
    total_cost = models.FloatField(null=True, blank=True)
    total_co2_t = models.FloatField(null=True, blank=True)
    renewable_share = models.FloatField(null=True, blank=True)
    curtailment_mwh = models.FloatField(null=True, blank=True)
    unserved_mwh = models.FloatField(null=True, blank=True)
    interval_prices = models.JSONField(
        default=list, blank=True, help_text="balance dual per interval (per MWh), in time order"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"dispatch {self.pk} of {self.forecast_run} ({self.status})"


class EnergyMix(models.Model):
    """One allocation of one interval: the seed's ``energy_mix`` table, widened.

    A row belongs to a generation source, to a storage unit (charge, discharge and
    state of charge), or is the interval's unserved energy (neither).
    """

    dispatch_run = models.ForeignKey(DispatchRun, on_delete=models.CASCADE, related_name="mix")
    forecast = models.ForeignKey(
        "forecasts.Forecast", on_delete=models.CASCADE, related_name="energy_mix"
    )
    timestamp = models.DateTimeField()
    source_name = models.CharField(max_length=100, help_text="the seed's `source` column")
    source = models.ForeignKey(GenerationSource, null=True, blank=True, on_delete=models.SET_NULL)
    storage = models.ForeignKey(StorageUnit, null=True, blank=True, on_delete=models.SET_NULL)
    allocation = models.FloatField(help_text="MW supplied (negative while storage charges)")
    available_mw = models.FloatField(null=True, blank=True)
    curtailed_mw = models.FloatField(null=True, blank=True)
    charge_mw = models.FloatField(null=True, blank=True)
    discharge_mw = models.FloatField(null=True, blank=True)
    soc_mwh = models.FloatField(null=True, blank=True)
    cost = models.FloatField(default=0)
    co2_t = models.FloatField(default=0)

    class Meta:
        verbose_name_plural = "energy mix"
        ordering = ["timestamp", "source_name"]
        indexes = [models.Index(fields=["dispatch_run", "timestamp"], name="mix_run_ts")]

    def __str__(self) -> str:
        return f"{self.source_name} at {self.timestamp:%Y-%m-%d %H:%M}: {self.allocation:g} MW"
