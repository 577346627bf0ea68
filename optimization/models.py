"""A city's generation fleet and the dispatch plans computed for its forecasts."""

import math

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# Physical bounds of the fleet, shared by the API serializers and the admin forms (both
# run these validators). They keep absurd values (1e308 MW, an efficiency of 1e-320)
# out of the LP, where they overflow to inf and make every dispatch of the city fail.
CAPACITY_MW_MAX = 100_000.0  # more than any single plant or interconnector
CO2_T_PER_MWH_MAX = 5.0  # lignite emits about 1.2; 5 leaves room for odd accounting
ENERGY_OR_POWER_MAX = 1_000_000.0  # MWh or MW of one storage unit
DAILY_BUDGET_MWH_MAX = 10_000_000.0
# The LP needs VoLL (default 10 000) > dump penalty (default 1 000) > |marginal cost +
# CO2 price x CO2| / worst round-trip efficiency + worst cycle cost (optimization.md,
# lp.penalty_order_validate, lp.Policy). A bound of 5 000 (or -1 000: the check takes
# the magnitude) would break that order with the default policy on its own, so a source
# alone keeps a 10 % margin below the dump penalty (900); subsidised renewables bid a
# few tens below zero, so -500 is generous. What field bounds cannot bound is a source
# combined with storage losses (900 / 0.81 = 1 111): fleet.py checks the whole fleet
# against the default policy on every API write, and dispatch answers 422 otherwise.
MARGINAL_COST_MIN, MARGINAL_COST_MAX = -500.0, 900.0
# Battery degradation costs tens per MWh; 500 still lets a free source pass the order.
CYCLE_COST_MAX = 500.0
# Below 0.5 per direction (a round trip under 0.25) a device is a heater, not a battery.
EFFICIENCY_MIN = 0.5


def validate_finite(value) -> None:
    if value is not None and not math.isfinite(value):
        raise ValidationError("Must be a finite number, not NaN or infinity.", code="not_finite")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def range_message(low: float, high: float, unit: str = "", why: str = "") -> str:
    message = f"Must lie between {_number(low)} and {_number(high)}{' ' + unit if unit else ''}."
    return f"{message} {why}" if why else message


def bounded(low: float, high: float, unit: str = "", why: str = "") -> list:
    """Finite and within [low, high], with one message that names the range and the unit."""
    message = range_message(low, high, unit, why)
    return [
        validate_finite,
        MinValueValidator(low, message=message),
        MaxValueValidator(high, message=message),
    ]


non_negative_mw = bounded(0, CAPACITY_MW_MAX, "MW")
fraction = bounded(0, 1)
efficiency = bounded(
    EFFICIENCY_MIN,
    1,
    why="Below 0.5 per direction (a round trip under 0.25) it is not a battery.",
)


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
    capacity_mw = models.FloatField(validators=non_negative_mw)
    marginal_cost = models.FloatField(
        default=0,
        validators=bounded(MARGINAL_COST_MIN, MARGINAL_COST_MAX, "per MWh"),
        help_text="currency per MWh",
    )
    co2_t_per_mwh = models.FloatField(
        default=0, validators=bounded(0, CO2_T_PER_MWH_MAX, "t per MWh")
    )
    renewable = models.BooleanField(default=False)
    ramp_limit = models.FloatField(
        null=True, blank=True, validators=fraction, help_text="fraction of capacity per hour"
    )
    must_run_fraction = models.FloatField(default=0, validators=fraction)
    daily_energy_budget_mwh = models.FloatField(
        null=True, blank=True, validators=bounded(0, DAILY_BUDGET_MWH_MAX, "MWh")
    )
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
    energy_mwh = models.FloatField(validators=bounded(0, ENERGY_OR_POWER_MAX, "MWh"))
    power_mw = models.FloatField(validators=bounded(0, ENERGY_OR_POWER_MAX, "MW"))
    charge_efficiency = models.FloatField(default=0.95, validators=efficiency)
    discharge_efficiency = models.FloatField(default=0.95, validators=efficiency)
    initial_soc = models.FloatField(
        default=0.5, validators=fraction, help_text="fraction of energy"
    )
    min_soc = models.FloatField(default=0.0, validators=fraction)
    max_soc = models.FloatField(default=1.0, validators=fraction)
    cycle_cost = models.FloatField(
        default=0, validators=bounded(0, CYCLE_COST_MAX, "per MWh"), help_text="per MWh out"
    )
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
