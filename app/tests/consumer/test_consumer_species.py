"""The species plan: which stored sets a window reads, when they are compacted, what is deleted."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from zootopia import cli
from zootopia.config import ConsumerSettings
from zootopia.consumer import layout, species


class Stored:
    """The directory listings of species/ and species-compacted/, changed as SpeciesHistory changes them."""

    def __init__(self) -> None:
        self.partitions: dict[int, frozenset[str]] = {}  # window -> the pairs it saw first
        self.sets: dict[int, frozenset[str]] = {}  # upto -> the pairs of windows 1..upto

    def run(self, window: int, new: frozenset[str], every: int, crash_at: str = "") -> frozenset[str]:
        """One window as history.py runs it; `crash_at` stops it at that step. The pairs it read."""
        step = species.plan(window, self.partitions, self.sets, every)
        read = self._read(step)
        if crash_at == "start":
            return read
        for number in step.stale_partitions:
            del self.partitions[number]
        for upto in step.stale_sets:
            del self.sets[upto]
        if step.compact:
            if crash_at == "compacting":  # the temp set is written, not renamed
                return read
            self.sets[step.compacted_upto] = read
            if crash_at == "renamed":  # renamed, nothing deleted yet
                return read
            for number in step.partitions:
                del self.partitions[number]
            if step.base:
                del self.sets[step.base]
            step = species.plan(window, step.partitions, [step.compacted_upto], every)
            assert self._read(step) == read
        if new - read:
            self.partitions[window] = new - read
        return read

    def _read(self, step: species.SpeciesPlan) -> frozenset[str]:
        pairs = set(self.sets.get(step.base, frozenset())) if step.base else set()
        for number in step.partitions:
            pairs |= self.partitions[number]
        return frozenset(pairs)


def test_a_window_reads_exactly_the_pairs_of_every_earlier_window_across_crashes_and_replays() -> None:
    rng = random.Random(7)
    for every in (1, 2, 3, 30):
        stored, seen = Stored(), frozenset[str]()
        window = 1
        while window <= 300:
            # A replayed window has the same records (same offsets); a crash at a step the window does
            # not reach is a crash after its partition was written, before Spark committed the batch.
            rng_of_window = random.Random(every * 1000 + window)
            new = frozenset(f"pair-{rng_of_window.randrange(400)}" for _ in range(rng_of_window.randrange(4)))
            crash = rng.choice(["", "", "", "start", "compacting", "renamed"])
            read = stored.run(window, new, every, crash_at=crash)
            assert read == seen, (every, window, crash)
            if crash:
                continue  # Spark replays the same window with the same records
            seen |= new
            window += 1
        # Bounded: one compacted set (two for an instant) and at most `every` partitions.
        assert len(stored.sets) <= 1
        assert len(stored.partitions) <= every + 1


def test_the_plan_reads_one_set_and_the_partitions_after_it() -> None:
    step = species.plan(10, partitions=[2, 5, 7, 9, 10, 12], compacted=[3, 6], every=5)
    assert step.base == 6
    assert step.partitions == (7, 9)  # not 10 (itself, a replay's) nor 12 (a later run's)
    assert not step.compact  # 9 - 6 = 3 windows since the set
    assert step.stale_partitions == (2, 5)
    assert step.stale_sets == (3,)


def test_the_plan_compacts_once_enough_windows_passed() -> None:
    step = species.plan(12, partitions=[7, 9, 11], compacted=[6], every=5)
    assert step.compact
    assert step.compacted_upto == 11
    # Nothing to merge: no compaction, however long since the last set.
    assert not species.plan(40, partitions=[3], compacted=[6], every=5).compact


def test_a_set_of_a_later_window_is_not_read() -> None:
    assert species.plan(5, partitions=[1, 2], compacted=[5, 9], every=3).base == 0


@pytest.mark.parametrize(("window", "every", "message"), [(0, 3, "start at 1"), (3, 0, "every 1 window or more")])
def test_the_plan_refuses_impossible_arguments(window: int, every: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        species.plan(window, [], [], every)


def test_species_directory_names_round_trip_and_skip_temp_sets() -> None:
    where = layout.Layout("/zootopia")
    assert where.species_compacted_set(40) == "/zootopia/species-compacted/upto=40"
    assert where.species_compacted_temp(40) == "/zootopia/species-compacted/.upto=40.tmp"
    assert layout.window_of_partition(where.species_partition(17).rsplit("/", 1)[1]) == 17
    assert layout.upto_of_compacted(where.species_compacted_set(40).rsplit("/", 1)[1]) == 40
    for other in (".upto=40.tmp", "_SUCCESS", "window=0", "upto=", "window=x"):
        assert layout.window_of_partition(other) is None
        assert layout.upto_of_compacted(other) is None


@pytest.mark.parametrize("every", [0, -3, True, "30", 2.5])
def test_the_compaction_interval_is_checked(every: object) -> None:
    with pytest.raises(ValueError, match="species_compaction_windows must be an integer of at least 1"):
        ConsumerSettings(species_compaction_windows=every)  # type: ignore[arg-type]
    assert ConsumerSettings().species_compaction_windows == 30


def test_settings_check_refuses_a_wrong_interval_with_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the role's copy runs before it writes the settings on a node."""
    path = tmp_path / "zootopia.json"
    path.write_text(json.dumps({"consumer": {"species_compaction_windows": 0}}), encoding="utf-8")
    assert cli.main(["settings", "check", str(path)]) == 2
    assert "consumer.species_compaction_windows must be an integer of at least 1, not 0" in capsys.readouterr().err
    path.write_text(json.dumps({"consumer": {"species_compaction_windows": 3}}), encoding="utf-8")
    assert cli.main(["settings", "check", str(path)]) == 0
    path.write_text(json.dumps({"consumer": {"species_compaction": 3}}), encoding="utf-8")
    assert cli.main(["settings", "check", str(path)]) == 2
    assert "unknown settings in consumer: species_compaction" in capsys.readouterr().err
