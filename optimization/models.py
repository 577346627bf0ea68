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
# The LP needs VoLL (10 000) > reserve shortfall (5 000) > dump (3 000) > policy
# shortfalls (2 000) > terminal SoC (1 000) > |marginal cost + CO2 price x CO2| / worst
# round-trip efficiency + worst cycle cost (defaults of lp.Policy; docs/dispatch.md,
# Objective and the order of penalties; lp.penalty_order_validate). A source alone keeps
# a 10 % margin below the lowest default penalty (900); subsidised renewables bid a few
# tens below zero, so -500 is generous. What field bounds cannot bound is a source
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


class AvailabilityModel(models.TextChoices):
    PROFILE = "profile"
    PV = "pv"
    WIND = "wind"


def validate_turbine_type(value: str) -> None:
    from optimization.availability_weather import turbine_types

    if value and value not in turbine_types():
        raise ValidationError(
            f"{value!r} is not in windpowerlib's shipped turbine library "
            f"(for example: {', '.join(turbine_types()[:5])}).",
            code="unknown_turbine",
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

    city = models.ForeignKey("cities.City", on_delete=models.CASCADE, related_name="sources")
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
    availability_model = models.CharField(
        max_length=8,
        choices=AvailabilityModel.choices,
        default=AvailabilityModel.PROFILE,
        help_text="pv and wind derive availability from the city's weather rows and fall "
        "back to clear sky (pv) or the stored profile (wind) when the horizon has none",
    )
    pv_tilt_deg = models.FloatField(
        null=True, blank=True, validators=bounded(0, 90, "degrees"),
        help_text="panel tilt (empty: 20 degrees)",
    )  # fmt: skip
    pv_azimuth_deg = models.FloatField(
        null=True, blank=True, validators=bounded(0, 360, "degrees"),
        help_text="panel azimuth, 180 = south (empty: facing the equator)",
    )  # fmt: skip
    hub_height_m = models.FloatField(
        null=True, blank=True, validators=bounded(10, 250, "m"),
        help_text="wind turbine hub height (empty: 100 m)",
    )  # fmt: skip
    turbine_type = models.CharField(
        max_length=40, blank=True, validators=[validate_turbine_type],
        help_text="a turbine of windpowerlib's shipped library, e.g. E-126/4200 (empty: that)",
    )  # fmt: skip
    reserve_fraction = models.FloatField(
        default=1, validators=fraction,
        help_text="share of capacity that may be held as upward reserve (weather-driven "
        "sources give none)",
    )  # fmt: skip
    reserve_cost = models.FloatField(
        default=0, validators=bounded(0, MARGINAL_COST_MAX, "per MW per hour"),
        help_text="cost of holding one MW of upward reserve for one hour",
    )  # fmt: skip
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["city", "marginal_cost", "name"]
        constraints = [
            models.UniqueConstraint(fields=["city", "name"], name="unique_source_name_per_city")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.capacity_mw:g} MW)"


class StorageUnit(models.Model):
    city = models.ForeignKey("cities.City", on_delete=models.CASCADE, related_name="storage_units")
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
    terminal_soc = models.FloatField(
        null=True, blank=True, validators=fraction,
        help_text="soft target for the SoC at the end of a plan (empty: the initial SoC)",
    )  # fmt: skip
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

    def clean(self) -> None:
        soc = (self.min_soc, self.initial_soc, self.max_soc)
        if None not in soc and not soc[0] <= soc[1] <= soc[2]:
            raise ValidationError("Need min_soc <= initial_soc <= max_soc.")
        terminal = self.terminal_soc
        if terminal is not None and None not in soc and not soc[0] <= terminal <= soc[2]:
            raise ValidationError({"terminal_soc": "Must lie between min_soc and max_soc."})


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
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL)
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
    interval_reserve = models.JSONField(
        default=list, blank=True,
        help_text="[required MW, shortfall MW] per interval in time order (reserve mode)",
    )  # fmt: skip
    reserve_shortfall_mwh = models.FloatField(null=True, blank=True)
    kpis = models.JSONField(default=dict, blank=True)
    shortfalls = models.JSONField(
        default=list, blank=True, help_text="[{constraint, target, achieved, shortfall, unit}]"
    )
    availability_basis = models.JSONField(
        default=dict, blank=True, help_text="per source: where its availability came from"
    )
    conflicts = models.JSONField(
        default=list, blank=True, help_text="names of the conflicting constraints (infeasible)"
    )
    build_seconds = models.FloatField(null=True, blank=True)
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
    reserve_mw = models.FloatField(null=True, blank=True, help_text="upward reserve held")
    cost = models.FloatField(default=0)
    co2_t = models.FloatField(default=0)

    class Meta:
        verbose_name_plural = "energy mix"
        ordering = ["timestamp", "source_name"]
        indexes = [models.Index(fields=["dispatch_run", "timestamp"], name="mix_run_ts")]

    def __str__(self) -> str:
        return f"{self.source_name} at {self.timestamp:%Y-%m-%d %H:%M}: {self.allocation:g} MW"
