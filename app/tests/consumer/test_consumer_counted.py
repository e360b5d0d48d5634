"""The offsets the consumer commits for backpressure: read from Spark's query progress."""

from __future__ import annotations

from kafka import TopicPartition

from zootopia.consumer.counted import counted_offsets

# The shape of StreamingQuery.lastProgress (Spark 3.2) for the Kafka source, trimmed.
PROGRESS = {
    "batchId": 7,
    "numInputRows": 42,
    "sources": [
        {
            "description": "KafkaV2[Subscribe[gbif,obis,idigbio]]",
            "startOffset": {"gbif": {"0": 10, "1": 0, "2": 5}, "obis": {"0": 0}},
            "endOffset": {"gbif": {"0": 30, "1": 0, "2": 9}, "obis": {"0": 18}},
            "numInputRows": 42,
        }
    ],
}


def test_the_end_offsets_of_the_last_window_are_what_it_counted() -> None:
    assert counted_offsets(PROGRESS) == {
        TopicPartition("gbif", 0): 30,
        TopicPartition("gbif", 1): 0,
        TopicPartition("gbif", 2): 9,
        TopicPartition("obis", 0): 18,
    }


def test_an_offset_given_as_json_text_is_read_too() -> None:
    progress = {"sources": [{"endOffset": '{"idigbio": {"1": 3}}'}]}
    assert counted_offsets(progress) == {TopicPartition("idigbio", 1): 3}


def test_no_progress_yet_commits_nothing() -> None:
    assert counted_offsets(None) == {}
    assert counted_offsets({"sources": []}) == {}
