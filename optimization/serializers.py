"""Input validation and output shapes of the fleet and dispatch API (no logic here)."""

from __future__ import annotations

import math

from rest_framework import serializers

from optimization.models import DispatchRun, GenerationSource, StorageUnit
from optimization.selectors import UNSERVED

HOURS_PER_DAY = 24


def _reject_reserved_name(name: str) -> str:
    if name.strip().lower() == UNSERVED:
        raise serializers.ValidationError(f"{UNSERVED!r} is reserved for unserved energy.")
    return name


def _require_finite(attrs: dict) -> None:
    bad = [k for k, v in attrs.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise serializers.ValidationError({k: "Must be a finite number." for k in bad})


class GenerationSourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = GenerationSource
        fields = [
            "id", "name", "kind", "capacity_mw", "marginal_cost", "co2_t_per_mwh", "renewable",
            "ramp_limit", "must_run_fraction", "daily_energy_budget_mwh", "availability",
            "availability_profile", "is_active",
        ]  # fmt: skip

    def validate_name(self, value: str) -> str:
        return _reject_reserved_name(value)

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

    def validate(self, attrs):
        _require_finite(attrs)
        return attrs


class StorageUnitSerializer(serializers.ModelSerializer):
    round_trip_efficiency = serializers.FloatField(read_only=True)

    class Meta:
        model = StorageUnit
        fields = [
            "id", "name", "energy_mwh", "power_mw", "charge_efficiency", "discharge_efficiency",
            "round_trip_efficiency", "initial_soc", "min_soc", "max_soc", "cycle_cost",
            "is_active",
        ]  # fmt: skip

    def validate_name(self, value: str) -> str:
        return _reject_reserved_name(value)

    def validate(self, attrs):
        _require_finite(attrs)
        merged = {
            field: attrs.get(field, getattr(self.instance, field, None))
            for field in ("charge_efficiency", "discharge_efficiency")
        }
        for field, value in merged.items():
            if value is not None and value <= 0:
                raise serializers.ValidationError({field: "Must lie in (0, 1]."})
        soc = {
            field: attrs.get(
                field, getattr(self.instance, field, StorageUnit._meta.get_field(field).default)
            )
            for field in ("min_soc", "initial_soc", "max_soc")
        }
        if not soc["min_soc"] <= soc["initial_soc"] <= soc["max_soc"]:
            raise serializers.ValidationError(
                "Need min_soc <= initial_soc <= max_soc "
                f"(got {soc['min_soc']:g}, {soc['initial_soc']:g}, {soc['max_soc']:g})."
            )
        return attrs


class PolicySerializer(serializers.Serializer):
    voll = serializers.FloatField(min_value=0, required=False)
    co2_price = serializers.FloatField(min_value=0, required=False)
    dump_penalty = serializers.FloatField(min_value=0, required=False)
    co2_cap = serializers.FloatField(min_value=0, required=False)
    min_renewable_share = serializers.FloatField(min_value=0, max_value=1, required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    f"Unknown policy field(s) {', '.join(unknown)}; "
                    f"allowed: {', '.join(self.fields)}."
                )
        values = super().to_internal_value(data)
        _require_finite(values)
        return values


class DispatchRequestSerializer(serializers.Serializer):
    forecast_run = serializers.IntegerField(min_value=1)
    mode = serializers.ChoiceField(choices=DispatchRun.Mode.choices, default=DispatchRun.Mode.BASE)
    policy = PolicySerializer(required=False)


class DispatchRunSerializer(serializers.ModelSerializer):
    totals = serializers.SerializerMethodField()
    intervals = serializers.SerializerMethodField()

    class Meta:
        model = DispatchRun
        fields = [
            "id", "forecast_run", "job", "mode", "policy", "status", "status_reason",
            "objective", "solver", "solver_version", "solve_seconds", "created_at", "totals",
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
        }

    def get_intervals(self, run: DispatchRun) -> list[dict]:
        return self.context["intervals"]
