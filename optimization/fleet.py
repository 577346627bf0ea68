"""A plausible Victorian generation fleet for demos and the shipped sample data.

Sized for the 2014 sample (demand 2,860 to 9,345 MW): firm capacity after derates
(coal, gas, hydro, imports, battery) is about 11,500 MW, so the peak is served
without shedding, and coal's must-run floor (about 1,900 MW) stays below the
lowest demand, so nothing has to be dumped.
"""

from __future__ import annotations

import numpy as np
from django.db import IntegrityError, transaction

import errors
from audit.services import audit_record
from optimization.dispatch_inputs import source_spec, storage_spec
from optimization.lp import Policy, penalty_order_validate
from optimization.models import GenerationSource, StorageUnit

# Fields through which a write can break the penalty order (default CO2 price is 0).
PENALTY_ORDER_FIELDS = {
    GenerationSource: ("marginal_cost", "reserve_cost", "is_active"),
    StorageUnit: ("charge_efficiency", "discharge_efficiency", "cycle_cost", "is_active"),
}

# Wind: about 0.35 on average, a little stronger at night (local hours 0..23).
WIND_PROFILE = [
    0.42, 0.43, 0.44, 0.44, 0.43, 0.41, 0.38, 0.35, 0.32, 0.30, 0.29, 0.28,
    0.28, 0.28, 0.29, 0.30, 0.31, 0.33, 0.35, 0.37, 0.39, 0.40, 0.41, 0.42,
]  # fmt: skip

DEMO_SOURCES = [
    {
        "name": "Solar (rooftop + utility)",
        "kind": GenerationSource.Kind.SOLAR,
        "capacity_mw": 1500,
        "marginal_cost": 0,
        "co2_t_per_mwh": 0,
        "renewable": True,
        # pvlib from the city's irradiance rows, clear sky when the horizon has none.
        "availability_model": "pv",
        "pv_tilt_deg": 20,
    },
    {
        "name": "Wind",
        "kind": GenerationSource.Kind.WIND,
        "capacity_mw": 1500,
        "marginal_cost": 0,
        "co2_t_per_mwh": 0,
        "renewable": True,
        # windpowerlib from the city's wind speeds; this profile when there are none.
        "availability_profile": WIND_PROFILE,
        "availability_model": "wind",
        "turbine_type": "E-126/4200",
        "hub_height_m": 135,
    },
    {
        "name": "Hydro",
        "kind": GenerationSource.Kind.HYDRO,
        "capacity_mw": 2200,
        "marginal_cost": 10,
        "co2_t_per_mwh": 0,
        "renewable": True,
        # Water for about 5.5 full-power hours a day: the LP places it at the peaks.
        "daily_energy_budget_mwh": 12000,
    },
    {
        "name": "Brown coal",
        "kind": GenerationSource.Kind.COAL,
        "capacity_mw": 5200,
        "availability": 0.92,
        "marginal_cost": 35,
        "co2_t_per_mwh": 1.2,
        "must_run_fraction": 0.4,
        "ramp_limit": 0.3,
    },
    {
        "name": "Gas CCGT",
        "kind": GenerationSource.Kind.GAS,
        "capacity_mw": 1200,
        "availability": 0.95,
        "marginal_cost": 90,
        "co2_t_per_mwh": 0.4,
    },
    {
        "name": "Imports",
        "kind": GenerationSource.Kind.IMPORTS,
        "capacity_mw": 1500,
        "marginal_cost": 120,
        "co2_t_per_mwh": 0.8,
    },
    {
        "name": "Gas peaker",
        "kind": GenerationSource.Kind.GAS,
        "capacity_mw": 1500,
        "availability": 0.95,
        "marginal_cost": 180,
        "co2_t_per_mwh": 0.6,
    },
]

DEMO_STORAGE = [
    {
        "name": "Grid battery",
        "energy_mwh": 650,
        "power_mw": 450,
        "charge_efficiency": 0.92,
        "discharge_efficiency": 0.92,
        "initial_soc": 0.5,
        "min_soc": 0.1,
        "max_soc": 1.0,
        "cycle_cost": 2,
    },
]


@transaction.atomic
def demo_fleet_create(city) -> None:
    """Create or refresh the demo fleet of ``city`` (idempotent: keyed on name)."""
    for spec in DEMO_SOURCES:
        defaults = {
            "availability": 1.0,
            "availability_profile": [],
            "must_run_fraction": 0.0,
            "ramp_limit": None,
            "daily_energy_budget_mwh": None,
            "availability_model": "profile",
            "pv_tilt_deg": None,
            "pv_azimuth_deg": None,
            "hub_height_m": None,
            "turbine_type": "",
            "reserve_fraction": 1.0,
            "reserve_cost": 0.0,
            "is_active": True,
            **{key: value for key, value in spec.items() if key != "name"},
        }
        GenerationSource.objects.update_or_create(city=city, name=spec["name"], defaults=defaults)
    for spec in DEMO_STORAGE:
        defaults = {
            "is_active": True,
            "terminal_soc": None,
            **{k: v for k, v in spec.items() if k != "name"},
        }
        StorageUnit.objects.update_or_create(city=city, name=spec["name"], defaults=defaults)


def _fleet_item_save(instance, data: dict):
    """Apply validated fields and save; a duplicate name is a 409, never a 500."""
    for key, value in data.items():
        setattr(instance, key, value)
    # Sources and storage units share one namespace: the LP and the energy-mix rows
    # key their results by name.
    model = type(instance)
    sibling = StorageUnit if model is GenerationSource else GenerationSource
    clash = model.objects.filter(city_id=instance.city_id, name=instance.name)
    if (
        clash.exclude(pk=instance.pk).exists()
        or sibling.objects.filter(city_id=instance.city_id, name=instance.name).exists()
    ):
        raise _name_conflict(instance)
    _penalty_order_check(instance, data)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:  # a concurrent request took the name first
        raise _name_conflict(instance) from None
    return instance


def _penalty_order_complaint(sources: list, units: list) -> str:
    """Why this fleet breaks the LP's penalty order under the default policy ("" if not)."""
    try:
        penalty_order_validate(
            [source_spec(s, np.ones(1)) for s in sources],
            [storage_spec(u) for u in units],
            Policy(),
        )
    except ValueError as exc:
        return str(exc)
    return ""


def penalty_order_complaint_after(instance) -> str:
    """Why saving ``instance`` would leave no dispatch of its city runnable ("" if none).

    Field bounds cannot guarantee the order: it couples the dearest source with the
    worst storage round trip and cycle cost. A fleet that is already out of order
    (rows from before the bounds) accepts writes, so it can be repaired.
    """
    stored = {
        model: list(model.objects.filter(city_id=instance.city_id, is_active=True))
        for model in (GenerationSource, StorageUnit)
    }
    if _penalty_order_complaint(stored[GenerationSource], stored[StorageUnit]):
        return ""
    model = type(instance)
    after = {**stored, model: [item for item in stored[model] if item.pk != instance.pk]}
    if instance.is_active:
        after[model].append(instance)
    complaint = _penalty_order_complaint(after[GenerationSource], after[StorageUnit])
    if not complaint:
        return ""
    what = "source" if model is GenerationSource else "storage unit"
    return (
        f"With this {what} the city's fleet breaks the penalty order under the default "
        f"policy, so every dispatch would fail. {complaint}"
    )


def _penalty_order_check(instance, data: dict) -> None:
    """Refuse (400) a write after which no dispatch of the city could run."""
    message = penalty_order_complaint_after(instance)
    if message:
        model = type(instance)
        fields = [f for f in PENALTY_ORDER_FIELDS[model] if f in data] or ["non_field_errors"]
        raise errors.InvalidInput(message, details={"fields": {f: [message] for f in fields}})


def _name_conflict(instance) -> errors.Conflict:
    what = "source" if isinstance(instance, GenerationSource) else "storage unit"
    return errors.Conflict(
        f"A {what} named {instance.name!r} cannot be saved: a source or storage unit "
        "of that name already exists in this city.",
        details={"name": instance.name},
    )


def _audited(action: str, item, data: dict):
    audit_record(f"{item._meta.model_name}.{action}", item, details={"fields": sorted(data)})
    return item


def source_create(*, city, data: dict) -> GenerationSource:
    return _audited("create", _fleet_item_save(GenerationSource(city=city), data), data)


def source_update(source: GenerationSource, data: dict) -> GenerationSource:
    return _audited("change", _fleet_item_save(source, data), data)


def storage_create(*, city, data: dict) -> StorageUnit:
    return _audited("create", _fleet_item_save(StorageUnit(city=city), data), data)


def storage_update(unit: StorageUnit, data: dict) -> StorageUnit:
    return _audited("change", _fleet_item_save(unit, data), data)


def fleet_item_delete(item: GenerationSource | StorageUnit) -> None:
    """Remove a source or storage unit; past energy-mix rows keep its name."""
    audit_record(f"{item._meta.model_name}.delete", item)
    item.delete()
