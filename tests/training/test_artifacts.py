"""Artifacts of an earlier release still load after a training module was renamed."""

import pickle

import numpy as np
import pytest

from training.artifacts import RENAMED_MODULES, artifact_loads
from training.catboost_model import QuantileModel
from training.deployed import DeployedModel, DeployedVariant
from training.later_days import extended_family


def _artifact_naming(module: str, holding) -> bytes:
    """An artifact as a release whose ``holding`` lived in ``module`` wrote it
    (protocol 0 names each class by its module and name in plain text)."""
    variant = DeployedVariant("catboost", [("catboost", holding, 1.0)], np.zeros((24, 7)))
    model = DeployedModel((0.05, 0.5, 0.95), "Australia/Melbourne", {"weather": variant})
    blob = pickle.dumps(model, protocol=0)
    current = f"c{holding.__module__}\n{holding.__qualname__}\n".encode()
    assert current in blob
    return blob.replace(current, f"c{module}\n{holding.__qualname__}\n".encode())


@pytest.mark.parametrize(
    "old_module, holding",
    [("training.trainer", QuantileModel), ("training.extended", extended_family)],
)
def test_an_artifact_naming_a_renamed_module_loads(old_module, holding):
    assert RENAMED_MODULES[old_module] == holding.__module__
    blob = _artifact_naming(old_module, holding)
    with pytest.raises(ModuleNotFoundError):
        pickle.loads(blob)  # what a plain unpickler makes of it
    loaded = artifact_loads(blob)
    assert loaded.variants["weather"].members[0][1] is holding


def test_anything_but_a_deployed_model_is_refused():
    with pytest.raises(TypeError):
        artifact_loads(pickle.dumps({"not": "a model"}))


@pytest.mark.django_db
def test_loaded_models_stay_in_a_bounded_lru_keyed_by_version(city, settings):
    from training.artifacts import artifact_load, artifact_save
    from training.models import ModelVersion

    settings.MODEL_CACHE_SIZE = 2
    model = DeployedModel((0.05, 0.5, 0.95), "Australia/Melbourne", {})
    versions = []
    for number in (1, 2, 3):
        version = ModelVersion.objects.create(city=city, version=number)
        artifact_save(version, model)
        versions.append(version)
    first = artifact_load(versions[0])
    assert artifact_load(versions[0]) is first  # read once, then from memory
    second = artifact_load(versions[1])
    artifact_load(versions[0])  # the most recently used of the two
    artifact_load(versions[2])  # the third pushes out the least recently used
    assert artifact_load(versions[0]) is first
    assert artifact_load(versions[1]) is not second  # read from storage again
