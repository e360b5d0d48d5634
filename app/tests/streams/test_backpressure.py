"""Backpressure's arithmetic and waiting: when a stream pauses, how long it waits, what it reports.

The lag itself comes from Kafka (end offsets against the consumer's committed ones): that part is
checked on the three nodes (molecule's pipeline checks), not here.
"""

from __future__ import annotations

import math

import pytest

from zootopia.config import KafkaSettings, Settings
from zootopia.streams.backpressure import Backpressure, Bound, Lag, TopicBytes, uncounted


def test_the_most_behind_partition_counts_from_the_committed_offset_or_the_log_start() -> None:
    ends = {0: 100, 1: 500, 2: 40}
    starts = {0: 0, 1: 300, 2: 0}
    # Partition 1's commit is older than its log start (retention deleted up to 300): 200 uncounted, not 450.
    counted = {0: 90, 1: 50, 2: None}
    assert uncounted(ends, starts, counted) == Lag(200, 1)
    # Nothing committed yet: everything from the log start is uncounted.
    assert uncounted({0: 7}, {0: 2}, {0: None}) == Lag(5, 0)
    # A commit past the end (a topic made again) is no negative lag.
    assert uncounted({0: 7}, {0: 0}, {0: 9}) == Lag(0, 0)
    assert uncounted({}, {}, {}) == Lag(0, 0)


def test_a_bound_pauses_above_its_share_and_resumes_at_half_of_it() -> None:
    bound = Bound.of(TopicBytes(retention=1_000_000, segment=160_000), share=0.5)
    assert bound is not None
    assert not bound.pauses(Lag(500, 0), bytes_per_record=1000)
    assert bound.pauses(Lag(501, 0), bytes_per_record=1000)
    assert not bound.resumes(Lag(251, 0), bytes_per_record=1000)
    assert bound.resumes(Lag(250, 0), bytes_per_record=1000)
    # No byte retention (-1), or backpressure off: nothing to bound.
    assert Bound.of(TopicBytes(-1, 160_000), 0.5) is None
    assert Bound.of(TopicBytes(1_000_000, 160_000), 0) is None


def test_a_replica_over_its_retention_and_one_segment_pauses_until_a_retention_check_deleted() -> None:
    bound = Bound.of(TopicBytes(retention=1_000_000, segment=160_000), share=0.5)
    assert bound is not None
    # What a retention check leaves at most: the retention and one segment.
    assert not bound.pauses(Lag(0, 0, stored_bytes=1_160_000), bytes_per_record=1000)
    assert bound.pauses(Lag(0, 0, stored_bytes=1_160_001), bytes_per_record=1000)
    # Resuming needs both: the disk back under its bound and the consumer close enough.
    assert not bound.resumes(Lag(0, 0, stored_bytes=1_160_001), bytes_per_record=1000)
    assert not bound.resumes(Lag(251, 0, stored_bytes=1_000_000), bytes_per_record=1000)
    assert bound.resumes(Lag(250, 0, stored_bytes=1_160_000), bytes_per_record=1000)


def test_a_transaction_writes_at_most_a_quarter_segment_per_partition() -> None:
    bound = Bound.of(TopicBytes(retention=1_000_000, segment=160_000), share=0.5)
    assert bound is not None
    # 40,000 bytes per partition, dealt over three: 120 records of 1,000 bytes.
    assert bound.transaction_records(bytes_per_record=1000, partitions=3) == 120
    assert bound.transaction_records(bytes_per_record=10**9, partitions=3) == 1


class _Scripted(Backpressure):
    """The waiting logic on a scripted sequence of lags (the Kafka questions answered by a list)."""

    def __init__(self, lags: list[Lag | Exception], retention_bytes: int = 1_000_000, failed_reads: int = 0) -> None:
        super().__init__(Settings(kafka=KafkaSettings(backpressure_share=0.5)), "gbif")
        self.lags = lags
        self.asked = 0
        self.retention = retention_bytes
        # The topic's settings cannot be read this many times first.
        self.failed_reads = failed_reads
        self.reads = 0

    def lag(self) -> Lag:
        answer = self.lags[self.asked]
        self.asked += 1
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _topic_bytes(self) -> TopicBytes:
        self.reads += 1
        if self.reads <= self.failed_reads:
            raise ConnectionError("no broker")
        return TopicBytes(self.retention, 160_000, delete_delay_ms=1000)


def test_a_stream_close_enough_behind_goes_on_without_pausing() -> None:
    pressure = _Scripted([Lag(100, 2)])
    pauses: list[Lag | None] = []
    assert pressure.hold(1000, pauses.append, sleep=lambda _: None) == Lag(100, 2)
    assert pauses == []


def test_a_stream_too_far_behind_pauses_once_and_waits_until_the_consumer_caught_up() -> None:
    lags: list[Lag | Exception] = [Lag(900, 1), Lag(800, 1), ConnectionError("broker gone"), Lag(300, 1), Lag(200, 1)]
    pressure = _Scripted(lags)
    pauses: list[Lag | None] = []
    slept: list[float] = []
    # An error while paused keeps the stream paused: it asks again, it does not stream on.
    assert pressure.hold(1000, pauses.append, sleep=slept.append) == Lag(200, 1)
    assert pauses == [Lag(900, 1)]
    assert pressure.asked == 5
    assert len(slept) == 4


def test_a_lag_that_cannot_be_asked_pauses_the_stream_until_it_can() -> None:
    # Going on blind could outrun the consumer until retention deleted uncounted records.
    lags: list[Lag | Exception] = [ConnectionError("no broker"), RuntimeError("no partitions"), Lag(100, 0)]
    pressure = _Scripted(lags)
    pauses: list[Lag | None] = []
    slept: list[float] = []
    assert pressure.hold(1000, pauses.append, sleep=slept.append) == Lag(100, 0)
    assert pauses == [None]
    assert (pressure.asked, len(slept)) == (3, 2)


def test_a_bound_that_cannot_be_read_pauses_the_stream_until_it_can() -> None:
    pressure = _Scripted([Lag(100, 0)], failed_reads=1)
    pauses: list[Lag | None] = []
    assert pressure.hold(1000, pauses.append, sleep=lambda _: None) == Lag(100, 0)
    assert pauses == [None]
    assert pressure.reads == 2


def test_a_first_look_that_failed_on_a_topic_without_byte_retention_lets_the_stream_go_on() -> None:
    pressure = _Scripted([], retention_bytes=-1, failed_reads=1)
    pauses: list[Lag | None] = []
    assert pressure.hold(1000, pauses.append, sleep=lambda _: None) is None
    assert (pauses, pressure.reads, pressure.asked) == ([None], 2, 0)


def test_no_byte_retention_asks_nothing() -> None:
    unbounded = _Scripted([], retention_bytes=-1)
    assert unbounded.hold(1000, lambda _: None) is None


def test_before_a_stream_sent_anything_the_brokers_figures_decide() -> None:
    # A restarted stream, its topic's replica over its retention and a segment: it pauses first.
    pressure = _Scripted([Lag(0, 0, stored_bytes=1_200_000), Lag(0, 0, stored_bytes=1_100_000)])
    pauses: list[Lag | None] = []
    assert pressure.hold(0, pauses.append, sleep=lambda _: None) == Lag(0, 0, stored_bytes=1_100_000)
    assert pauses == [Lag(0, 0, stored_bytes=1_200_000)]
    # Nothing sent and no record on the brokers: no guess at the uncounted records' bytes.
    bound = _Scripted([]).bound()
    assert bound is not None
    assert not bound.pauses(Lag(10**6, 0), bytes_per_record=0)


@pytest.mark.parametrize("share", [-0.1, 1, 1.5, True, "0.5"])
def test_a_share_outside_zero_to_one_is_refused_with_its_name(share: object) -> None:
    with pytest.raises(ValueError, match=r"kafka\.backpressure_share"):
        KafkaSettings(backpressure_share=share)  # type: ignore[arg-type]


def test_the_next_transaction_is_capped_once_the_bound_is_known() -> None:
    pressure = _Scripted([Lag(100, 2)])
    # Before the brokers could be asked: a small one.
    assert pressure.transaction_records(1000, most=2000) == 100
    assert pressure.hold(1000, lambda _: None, sleep=lambda _: None) == Lag(100, 2)
    assert pressure.transaction_records(1000, most=2000) == 40
    assert pressure.transaction_records(1000, most=10) == 10


def test_what_a_record_takes_on_the_brokers_disks_outweighs_the_streams_estimate() -> None:
    bound = Bound.of(TopicBytes(retention=1_000_000, segment=160_000), share=0.5)
    assert bound is not None
    # 300 uncounted records: 300,000 bytes by the stream's guess, 600,000 on the brokers' disks.
    assert not bound.pauses(Lag(300, 0), bytes_per_record=1000)
    assert bound.pauses(Lag(300, 0, record_bytes=2000), bytes_per_record=1000)
    assert not bound.resumes(Lag(250, 0, record_bytes=2000), bytes_per_record=1000)


class _Deleting(_Scripted):
    """Each look finds broker 1's replica of partition 0 smaller: its retention check deleted a segment."""

    def lag(self) -> Lag:
        self.note_replicas({(0, 0): 1_000_000, (1, 0): 1_000_000 - 1000 * self.asked})
        return super().lag()


def test_once_a_check_deleted_segments_the_stream_waits_until_their_files_are_gone() -> None:
    pressure = _Deleting([Lag(0, 0), Lag(0, 0), Lag(0, 0)])
    slept: list[float] = []
    # The first look has nothing to compare with: a check may have just deleted files no figure shows.
    pressure.hold(1000, lambda _: None, sleep=slept.append)
    # The next finds a replica shrunk: the deleted files stay a second (file.delete.delay.ms), and the
    # broker's scheduler takes a little longer.
    pressure.hold(1000, lambda _: None, sleep=slept.append)
    assert len(slept) == 2
    assert all(1.0 < seconds <= 1.1 for seconds in slept)
    # A look that finds every replica as large as before goes on at once.
    pressure._replicas = {(0, 0): 1_000_000, (1, 0): 0}
    pressure._deleted_at = -math.inf
    pressure.hold(1000, lambda _: None, sleep=slept.append)
    assert len(slept) == 2


def test_a_replica_the_last_look_did_not_see_counts_as_shrunk() -> None:
    pressure = _Scripted([])
    pressure.note_replicas({(0, 0): 500})
    pressure._deleted_at = -math.inf
    pressure.note_replicas({(0, 0): 600, (1, 0): 600})  # broker 1 did not answer the last look
    assert pressure._deleted_at > -math.inf


def test_without_byte_retention_or_backpressure_a_transaction_keeps_its_configured_size() -> None:
    unbounded = _Scripted([], retention_bytes=-1)
    assert unbounded.hold(1000, lambda _: None) is None
    assert unbounded.transaction_records(1000, most=2000) == 2000
    off = Backpressure(Settings(kafka=KafkaSettings(backpressure_share=0)), "gbif")
    assert off.transaction_records(0, most=2000) == 2000


class _NoMetadata:
    """kafka-python's consumer after a failed metadata request: it knows no partition of the topic."""

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set()


def test_a_topic_without_known_partitions_is_an_unknown_lag_not_a_zero_one() -> None:
    pressure = Backpressure(Settings(kafka=KafkaSettings(backpressure_share=0.5)), "gbif")
    pressure._consumer = _NoMetadata()
    with pytest.raises(RuntimeError, match="no partitions of gbif"):
        pressure.lag()
