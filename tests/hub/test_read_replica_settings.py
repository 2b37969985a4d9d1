"""``HUB_READ_DATABASE_URL`` and its companions: refused with a sentence when they cannot work."""

from __future__ import annotations

import pytest

from hub.cli import load_settings
from hub.errors import ConfigError
from hub.settings import Settings

PRIMARY = "postgresql+asyncpg://hub@db-primary:5432/hub"
REPLICA = "postgresql://hub@db-replica:5432/hub"


def test_unset_means_every_read_on_the_primary() -> None:
    assert Settings(database_url=PRIMARY).read_database_url is None
    assert Settings(database_url=PRIMARY, read_database_url=" ").read_database_url is None


def test_the_replica_url_names_the_async_driver() -> None:
    settings = Settings(database_url=PRIMARY, read_database_url=REPLICA)
    assert settings.read_database_url == "postgresql+asyncpg://hub@db-replica:5432/hub"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"database_url": PRIMARY, "read_database_url": "sqlite+aiosqlite:///r.db"},
            "HUB_READ_DATABASE_URL: HUB_READ_DATABASE_URL must be a PostgreSQL streaming replica",
        ),
        (
            {"database_url": PRIMARY, "read_database_url": "mysql://x@y/z"},
            "HUB_READ_DATABASE_URL: HUB_READ_DATABASE_URL uses 'mysql'",
        ),
        (
            {"database_url": "sqlite+aiosqlite:///hub.db", "read_database_url": REPLICA},
            "settings: HUB_READ_DATABASE_URL needs HUB_DATABASE_URL to be its PostgreSQL primary",
        ),
        (
            {"database_url": PRIMARY, "read_database_url": REPLICA, "read_after_write_s": 2},
            "settings: HUB_READ_AFTER_WRITE_S (2) must be 0 or at least "
            "HUB_REPLICA_MAX_LAG_S + HUB_REPLICA_CHECK_S (3)",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_with_a_sentence(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(**values)
    assert str(refused.value).startswith(message), str(refused.value)


def test_read_after_write_may_be_off_or_cover_the_lag_bound() -> None:
    off = Settings(database_url=PRIMARY, read_database_url=REPLICA, read_after_write_s=0)
    assert off.read_after_write_s == 0
    covered = Settings(
        database_url=PRIMARY, read_database_url=REPLICA, replica_max_lag_s=1, replica_check_s=0.5
    )
    assert covered.read_after_write_s == 5


def test_the_replica_metrics_exist_only_with_a_replica() -> None:
    import math

    from prometheus_client import CollectorRegistry

    from hub.metrics import HubMetrics

    metrics = HubMetrics(CollectorRegistry())
    metrics.observe_read("replica")  # no replica: nothing to count, nothing exported
    metrics.observe_replica(0.5, usable=True)
    names = {family.name for family in metrics.registry.collect()}
    assert not {n for n in names if "replica" in n or "query_reads" in n}

    metrics.track_replica()
    metrics.track_replica()  # once is enough; twice is harmless
    assert math.isnan(metrics.registry.get_sample_value("hub_replica_lag_seconds") or 0.0)
    metrics.observe_read("lagging")
    metrics.observe_replica(3.5, usable=False)
    assert metrics.registry.get_sample_value("hub_query_reads_total", {"reason": "lagging"}) == 1
    assert metrics.registry.get_sample_value("hub_replica_lag_seconds") == 3.5
    assert metrics.registry.get_sample_value("hub_replica_usable") == 0
