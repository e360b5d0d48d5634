"""bench/consumer_rate_bench.py's arithmetic: the larger window's size, and the consumer's rate per record
and cost per window drawn from its two sizes."""

from __future__ import annotations

import repository_module

bench = repository_module.load("consumer_rate_bench", "bench/consumer_rate_bench.py")


def test_the_larger_window_holds_one_trigger_of_the_streams() -> None:
    # 8,326 records/s for a 10 s trigger: 83,260 records, five reads of 19,969.
    assert bench.copies_for(19_969, 8_326.0, 10) == 5
    assert bench.copies_for(20_000, 8_000.0, 10) == 4


def test_the_larger_window_is_always_larger() -> None:
    # Slow streams or a short trigger would make one read: two sizes are needed for a rate per record.
    assert bench.copies_for(20_000, 500.0, 10) == 2


def test_rate_per_record_and_cost_per_window_go_through_both_sizes() -> None:
    # 1 s a window and 20,000 records/s: 2 s for 20,000 records, 6 s for 100,000; streams at 8,000 records/s.
    small, large = {"records": 20_000, "zootopia_s": 2.0}, {"records": 100_000, "zootopia_s": 6.0}
    assert bench.per_record(small, large, 8_000.0) == {
        "zootopia_per_record_records_per_s": 20_000,
        "zootopia_per_record_to_streams": 2.5,
        "zootopia_per_window_s": 1.0,
    }


def test_a_larger_window_no_slower_gives_no_rate() -> None:
    small, large = {"records": 20_000, "zootopia_s": 2.0}, {"records": 100_000, "zootopia_s": 1.9}
    assert bench.per_record(small, large, 8_000.0) == {
        "zootopia_per_record_records_per_s": None,
        "zootopia_per_record_to_streams": None,
        "zootopia_per_window_s": None,
    }
