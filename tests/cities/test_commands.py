"""manage.py load_sample, import_observations and recount_observations."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.models import Membership, Organization
from cities.models import City, Observation
from optimization.models import GenerationSource, StorageUnit
from tests.factories import make_city


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            Organization,
            get_user_model(),
            Membership,
            City,
            Observation,
            GenerationSource,
            StorageUnit,
        )
    }


@pytest.mark.django_db
def test_load_sample_is_idempotent(victoria):
    first = run("load_sample", "--weeks", "2")
    after_first = counts()
    run("load_sample", "--weeks", "2")

    assert counts() == after_first
    city = City.objects.get(organization__slug="demo", name="Melbourne")
    assert (city.timezone, city.resolution_minutes, city.country) == (
        "Australia/Melbourne",
        30,
        "AU",
    )
    assert after_first["Observation"] == 2 * 7 * 48
    last = city.observations.order_by("-timestamp").first()
    assert last.timestamp == victoria.index[-1]
    assert last.demand_mw == victoria["demand_mw"].iloc[-1]
    assert city.sources.exists() and city.storage_units.exists()
    user = get_user_model().objects.get(username="demo")
    assert user.check_password("demo") and user.is_staff and user.is_superuser
    assert user.membership.role == Membership.Role.ADMIN
    assert "672 observations upserted" in first


@pytest.mark.django_db
def test_load_sample_password_option_resets_the_password():
    run("load_sample", "--weeks", "1", "--password", "s3cret-demo")
    # (django-axes' backend needs a request: the password is checked directly)
    user = get_user_model().objects.get(username="demo")
    assert user.check_password("s3cret-demo") and not user.check_password("demo")


@pytest.mark.django_db
def test_import_observations_upserts_a_file(city, victoria, tmp_path):
    path = tmp_path / "july.csv"
    victoria.loc["2014-07-01":"2014-07-02"].to_csv(path)

    out = run("import_observations", "--city", "Melbourne", str(path))
    run("import_observations", "--city", str(city.pk), "--org", "vic", str(path))

    assert Observation.objects.filter(city=city).count() == 96
    assert "rows read 96, accepted 96, rejected 0" in out
    assert "96 observations upserted for Melbourne" in out


@pytest.mark.django_db
def test_import_observations_dry_run_writes_nothing(city, victoria, tmp_path):
    path = tmp_path / "july.csv"
    victoria.loc["2014-07-01"].to_csv(path)

    out = run("import_observations", "--city", "Melbourne", "--dry-run", str(path))

    assert "Dry run" in out
    assert not Observation.objects.exists()


@pytest.mark.django_db
def test_import_observations_bad_file_is_a_command_error(city, victoria, tmp_path):
    good = victoria.loc["2014-07-01"].to_csv()
    lines = good.splitlines()
    lines[4] = "not-a-time,1,2"
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(CommandError, match="line 5: unparseable timestamp"):
        run("import_observations", "--city", "Melbourne", str(path))
    assert not Observation.objects.exists()

    with pytest.raises(CommandError, match="Cannot read"):
        run("import_observations", "--city", "Melbourne", str(tmp_path / "missing.csv"))


@pytest.mark.django_db
def test_import_observations_unknown_or_ambiguous_city(city, other_org, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("timestamp,demand_mw\n2014-07-01T00:00Z,1\n")
    with pytest.raises(CommandError, match="No city 'Atlantis'"):
        run("import_observations", "--city", "Atlantis", str(path))
    with pytest.raises(CommandError, match="No city 'Melbourne' in organisation 'elsewhere'"):
        run("import_observations", "--city", "Melbourne", "--org", "elsewhere", str(path))

    make_city(other_org)
    with pytest.raises(CommandError, match="--org"):
        run("import_observations", "--city", "melbourne", str(path))
    assert not Observation.objects.exists()


@pytest.mark.django_db
def test_recount_observations_repairs_summaries_written_around_the_service(org, city):
    from datetime import UTC, datetime, timedelta

    other = make_city(org, name="Geelong")
    start = datetime(2014, 7, 1, tzinfo=UTC)
    Observation.objects.bulk_create(  # raw rows: the summary does not know them
        Observation(city=city, timestamp=start + timedelta(minutes=30 * i), demand_mw=4000)
        for i in range(5)
    )
    city.refresh_from_db()
    assert city.observation_count == 0

    out = io.StringIO()
    call_command("recount_observations", stdout=out)

    city.refresh_from_db()
    other.refresh_from_db()
    assert city.observation_count == 5
    assert (city.first_observation, city.last_observation) == (
        start,
        start + timedelta(minutes=120),
    )
    assert other.observation_count == 0 and other.first_observation is None
    assert "Melbourne (id" in out.getvalue() and "0 -> 5 rows" in out.getvalue()
    with pytest.raises(CommandError, match="No city"):
        call_command("recount_observations", "--city", "Atlantis")
