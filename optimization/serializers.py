"""Input validation and output shapes of the fleet and dispatch API (no logic here)."""

from __future__ import annotations

import math

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from httpapi.fields import (
    PrintableTextField,
    StrictBooleanField,
    StrictFloatField,
    StrictIntegerField,
)
from optimization.lp import (
    DEFAULT_DUMP_PENALTY,
    DEFAULT_POLICY_SHORTFALL_PENALTY,
    DEFAULT_RESERVE_SHORTFALL_PENALTY,
    DEFAULT_TERMINAL_SOC_PENALTY,
    DEFAULT_VOLL,
)
from optimization.models import DispatchRun, GenerationSource, StorageUnit, range_message
from optimization.selectors import UNSERVED

HOURS_PER_DAY = 24

# Policy overrides of one dispatch, finite and bounded so that no product in the LP
# overflows. VoLL starts at 1 000, above the dearest marginal cost a source may have
# (models.MARGINAL_COST_MAX); 1e6 per MWh is far above any market's price cap. The
# penalty order (docs/dispatch.md, Objective and the order of penalties) asks more of a
# policy: VoLL must also exceed the dump penalty and every other penalty that acts. The
# defaults are the LP's (optimization.lp.DEFAULT_*), and the help texts below read them.
# CO2 prices top out at 10 000 per t (observed prices are tens to hundreds). Whether a
# policy keeps the penalty order with the city's fleet depends on both, so
# services.dispatch_run_create checks it per request and answers 422.
VOLL_RANGE = (1_000.0, 1_000_000.0)
CO2_PRICE_RANGE = (0.0, 10_000.0)
DUMP_PENALTY_RANGE = (0.0, 1_000_000.0)
CO2_CAP_RANGE = (0.0, 1e9)  # t per dispatch horizon
PENALTY_RANGE = (0.0, 1_000_000.0)


def _bounded_float(low: float, high: float, unit: str = "", **kwargs) -> StrictFloatField:
    """A finite float in [low, high] whose range message is the model validators' one."""
    message = range_message(low, high, unit)
    return StrictFloatField(
        min_value=low,
        max_value=high,
        error_messages={"min_value": message, "max_value": message},
        **kwargs,
    )


def _penalty(
    what: str, default: float, unit: str = "per MWh", bounds: tuple = PENALTY_RANGE
) -> StrictFloatField:
    """An optional policy penalty; its help text reads the default from the LP, so that the
    two cannot drift apart."""
    help_text = f"{what}; default {default:,.0f} {unit}."
    return _bounded_float(*bounds, unit, required=False, help_text=help_text)


class _FleetItemSerializer(serializers.ModelSerializer):
    """Numbers and booleans are strict JSON (the endpoints read JSON only), names are
    printable text, and floats keep the range messages of the model validators."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.FloatField: StrictFloatField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
    }
    name = PrintableTextField(max_length=100)

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        messages = {
            key: validator.message
            for validator in model_field.validators
            for key, kind in (("min_value", MinValueValidator), ("max_value", MaxValueValidator))
            if type(validator) is kind and validator.message != kind.message
        }
        if messages:
            kwargs["error_messages"] = {**kwargs.get("error_messages", {}), **messages}
        return field_class, kwargs

    def validate_name(self, value: str) -> str:
        if value.strip().lower() == UNSERVED:
            raise serializers.ValidationError(f"{UNSERVED!r} is reserved for unserved energy.")
        return value


@extend_schema_field(
    {
        "type": "array",
        "nullable": True,
        "items": {"type": "number", "format": "double", "minimum": 0, "maximum": 1},
        # Empty (or null): constant availability; otherwise one value per local hour.
        "anyOf": [{"maxItems": 0}, {"minItems": HOURS_PER_DAY, "maxItems": HOURS_PER_DAY}],
        "description": "24 per-unit values, one per local hour of the day (empty or null: "
        "constant availability).",
    }
)
class AvailabilityProfileField(serializers.JSONField):
    """The source's hourly profile; validate_availability_profile checks the shape the
    schema states."""


class GenerationSourceSerializer(_FleetItemSerializer):
    availability_profile = AvailabilityProfileField(required=False, allow_null=True)

    class Meta:
        model = GenerationSource
        fields = [
            "id", "name", "kind", "capacity_mw", "marginal_cost", "co2_t_per_mwh", "renewable",
            "ramp_limit", "must_run_fraction", "daily_energy_budget_mwh", "availability",
            "availability_profile", "availability_model", "pv_tilt_deg", "pv_azimuth_deg",
            "hub_height_m", "turbine_type", "reserve_fraction", "reserve_cost", "is_active",
        ]  # fmt: skip

    def validate(self, attrs):
        def value(field):
            return attrs.get(field, getattr(self.instance, field, None))

        must_run, budget = value("must_run_fraction") or 0.0, value("daily_energy_budget_mwh")
        availability = value("availability")
        floor_mw = must_run * (value("capacity_mw") or 0.0) * (1.0 if availability is None
                                                               else availability)  # fmt: skip
        if budget is not None and floor_mw * HOURS_PER_DAY > budget + 1e-9:
            raise serializers.ValidationError(
                {
                    "daily_energy_budget_mwh": [
                        f"The must-run floor alone needs {floor_mw * HOURS_PER_DAY:g} MWh a "
                        f"day, more than the daily budget of {budget:g} MWh."
                    ]
                }
            )
        return attrs

    def validate_availability_profile(self, value):
        if value in (None, []):
            return []
        if not isinstance(value, list) or len(value) != HOURS_PER_DAY:
            raise serializers.ValidationError(
                "Must be a list of 24 per-unit values (one per local hour), or empty."
            )
        for hour, item in enumerate(value):
            number_ok = isinstance(item, int | float) and not isinstance(item, bool)
            if not (number_ok and math.isfinite(item) and 0 <= item <= 1):
                raise serializers.ValidationError(
                    f"Hour {hour}: {item!r} is not a number in [0, 1]."
                )
        return [float(item) for item in value]


class StorageUnitSerializer(_FleetItemSerializer):
    round_trip_efficiency = serializers.FloatField(read_only=True)

    class Meta:
        model = StorageUnit
        fields = [
            "id", "name", "energy_mwh", "power_mw", "charge_efficiency", "discharge_efficiency",
            "round_trip_efficiency", "initial_soc", "min_soc", "max_soc", "terminal_soc",
            "cycle_cost", "is_active",
        ]  # fmt: skip

    def validate(self, attrs):
        soc = {
            field: attrs.get(
                field, getattr(self.instance, field, StorageUnit._meta.get_field(field).default)
            )
            for field in ("min_soc", "initial_soc", "max_soc")
        }
        soc["terminal_soc"] = attrs.get(
            "terminal_soc", getattr(self.instance, "terminal_soc", None)
        )
        if not soc["min_soc"] <= soc["initial_soc"] <= soc["max_soc"]:
            raise serializers.ValidationError(
                "Need min_soc <= initial_soc <= max_soc "
                f"(got {soc['min_soc']:g}, {soc['initial_soc']:g}, {soc['max_soc']:g})."
            )
        terminal = soc["terminal_soc"]
        if terminal is not None and not soc["min_soc"] <= terminal <= soc["max_soc"]:
            raise serializers.ValidationError(
                {"terminal_soc": [f"Must lie between min_soc and max_soc (got {terminal:g})."]}
            )
        return attrs


class PolicySerializer(serializers.Serializer):
    voll = _penalty("Value of lost load", DEFAULT_VOLL, bounds=VOLL_RANGE)
    co2_price = _bounded_float(*CO2_PRICE_RANGE, "per t", required=False)
    dump_penalty = _penalty(
        "Penalty on surplus dumped", DEFAULT_DUMP_PENALTY, bounds=DUMP_PENALTY_RANGE
    )
    co2_cap = _bounded_float(*CO2_CAP_RANGE, "t", required=False)
    min_renewable_share = _bounded_float(0, 1, required=False)
    reserve_shortfall_penalty = _penalty(
        "Penalty on upward reserve missed", DEFAULT_RESERVE_SHORTFALL_PENALTY
    )
    renewable_shortfall_penalty = _penalty(
        "Penalty on renewable energy short of min_renewable_share",
        DEFAULT_POLICY_SHORTFALL_PENALTY,
    )
    co2_shortfall_penalty = _penalty(
        "Penalty on CO2 above co2_cap", DEFAULT_POLICY_SHORTFALL_PENALTY, "per t"
    )
    terminal_soc_penalty = _penalty(
        "Penalty on stored energy short of the terminal SoC", DEFAULT_TERMINAL_SOC_PENALTY
    )
    allow_dump = StrictBooleanField(required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    f"Unknown policy field(s) {', '.join(unknown)}; "
                    f"allowed: {', '.join(self.fields)}."
                )
        return super().to_internal_value(data)


class DispatchRequestSerializer(serializers.Serializer):
    forecast_run = StrictIntegerField(min_value=1)
    # Empty: reserve when the forecast has an upper quantile, else base.
    mode = serializers.ChoiceField(choices=DispatchRun.Mode.choices, required=False)
    policy = PolicySerializer(required=False)


class DispatchRunSerializer(serializers.ModelSerializer):
    totals = serializers.SerializerMethodField()
    intervals = serializers.SerializerMethodField()

    class Meta:
        model = DispatchRun
        fields = [
            "id", "forecast_run", "job", "mode", "policy", "status", "status_reason",
            "objective", "solver", "solver_version", "solve_seconds", "build_seconds",
            "created_at", "totals", "kpis", "shortfalls", "conflicts", "availability_basis",
            "intervals",
        ]  # fmt: skip

    def get_totals(self, run: DispatchRun) -> dict:
        return {
            "demand_mwh": run.demand_mwh,
            "cost": run.total_cost,
            "co2_t": run.total_co2_t,
            "renewable_share": run.renewable_share,
            "curtailment_mwh": run.curtailment_mwh,
            "unserved_mwh": run.unserved_mwh,
            "reserve_shortfall_mwh": run.reserve_shortfall_mwh,
        }

    def get_intervals(self, run: DispatchRun) -> list[dict]:
        return self.context["intervals"]
