"""The Kafka modules' retries (roles/kafka/module_utils/kafka_admin.py): what Kafka calls retriable is
asked again, for a bounded time; anything else fails at once."""

from __future__ import annotations

import pytest
import repository_module
from kafka.errors import LeaderNotAvailableError, NoBrokersAvailable, TopicAuthorizationFailedError

kafka_admin = repository_module.load("kafka_admin", "roles/kafka/module_utils/kafka_admin.py")


class Flaky:
    """Raises the given errors in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "reconciled"


def test_a_cluster_settling_after_a_restart_is_asked_again() -> None:
    call, slept = Flaky(NoBrokersAvailable(), LeaderNotAvailableError("describing topic gbif")), list[float]()
    assert kafka_admin.retried(call, sleep=slept.append) == "reconciled"
    assert call.calls == 3
    assert slept == [kafka_admin.RETRY_PAUSE_SECONDS] * 2


def test_an_error_asking_again_cannot_mend_fails_at_once() -> None:
    call, slept = Flaky(TopicAuthorizationFailedError()), list[float]()
    with pytest.raises(TopicAuthorizationFailedError):
        kafka_admin.retried(call, sleep=slept.append)
    assert (call.calls, slept) == (1, [])


def test_a_cluster_that_stays_away_fails_after_the_bound() -> None:
    call = Flaky(*[NoBrokersAvailable() for _ in range(5)])
    with pytest.raises(NoBrokersAvailable):
        kafka_admin.retried(call, seconds=0, sleep=lambda _: None)
    assert call.calls == 1
