"""Model artifacts in Django's default storage, with a small in-process cache.

The artifact is the pickled :class:`training.deployed.DeployedModel` (CatBoost
boosters pickle natively; the statistical and regression members are plain arrays
and statsforecast objects). Artifacts are written only by the training service into
the project's own storage, never uploaded by clients, so unpickling them is safe.
Batched inference loads the same model version for every batch; the cache keyed by
(model version id, artifact name) means a worker reads each file once. It is a
bounded LRU (MODEL_CACHE_SIZE models per process, the least recently used dropped
first); a new version has a new id, so promotion needs no invalidation.

A pickle names the modules of the classes it holds. Artifacts written before a module
was renamed still name the old one: ``RENAMED_MODULES`` maps them, so models trained
by an earlier release keep serving after an upgrade.
"""

from __future__ import annotations

import io
import pickle
import threading
from collections import OrderedDict

from django.conf import settings
from django.core.files.base import ContentFile

from training.deployed import DeployedModel
from training.models import ModelVersion

RENAMED_MODULES = {
    "training.trainer": "training.catboost_model",
    "training.extended": "training.later_days",
}


class ArtifactUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        return super().find_class(RENAMED_MODULES.get(module, module), name)


def artifact_loads(blob: bytes) -> DeployedModel:
    """A deployed model from an artifact's bytes (also one of an earlier release)."""
    model = ArtifactUnpickler(io.BytesIO(blob)).load()  # our own artifact, see above
    if not isinstance(model, DeployedModel):
        raise TypeError("the artifact is not a deployed model")
    return model


_cache: OrderedDict[tuple[int, str], DeployedModel] = OrderedDict()
_lock = threading.Lock()


def artifact_save(model_version: ModelVersion, model: DeployedModel) -> None:
    name = f"city{model_version.city_id}-v{model_version.version}.pkl"
    blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    model_version.artifact.save(name, ContentFile(blob), save=False)
    model_version.save(update_fields=["artifact"])


def artifact_load(model_version: ModelVersion) -> DeployedModel:
    key = (model_version.pk, model_version.artifact.name)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    with model_version.artifact.open("rb") as handle:
        model = artifact_loads(handle.read())
    with _lock:
        _cache[key] = model
        while len(_cache) > max(1, settings.MODEL_CACHE_SIZE):
            _cache.popitem(last=False)
    return model


def artifact_cache_clear() -> None:
    with _lock:
        _cache.clear()
