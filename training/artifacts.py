"""Model artifacts in Django's default storage, with a small in-process cache.

Batched inference loads the same model version for every batch; the cache keyed by
(model version id, artifact name) means a worker reads each file once.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict

from catboost import CatBoostRegressor
from django.core.files.base import ContentFile

from training.models import ModelVersion
from training.trainer import QuantileModel

CACHE_SIZE = 16
_cache: OrderedDict[tuple[int, str], QuantileModel] = OrderedDict()
_lock = threading.Lock()


def _model_bytes(model: QuantileModel) -> bytes:
    # CatBoost writes models to a path only; a temp file is the portable way to bytes.
    fd, path = tempfile.mkstemp(suffix=".cbm")
    os.close(fd)
    try:
        model.booster.save_model(path, format="cbm")
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(path)


def artifact_save(model_version: ModelVersion, model: QuantileModel) -> None:
    """Store the booster as the version's artifact; scales and features live in its row."""
    name = f"city{model_version.city_id}-v{model_version.version}.cbm"
    model_version.artifact.save(name, ContentFile(_model_bytes(model)), save=False)
    model_version.save(update_fields=["artifact"])


def artifact_load(model_version: ModelVersion) -> QuantileModel:
    key = (model_version.pk, model_version.artifact.name)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    with model_version.artifact.open("rb") as handle:
        blob = handle.read()
    booster = CatBoostRegressor()
    booster.load_model(blob=blob)
    model = QuantileModel(
        booster=booster,
        quantiles=tuple(float(q) for q in model_version.quantiles),
        features=list(model_version.features),
        interval_scales=dict(model_version.params.get("interval_scales", {})),
    )
    with _lock:
        _cache[key] = model
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def artifact_cache_clear() -> None:
    with _lock:
        _cache.clear()
