"""The whole pipeline on the three nodes, against the mirror of the real data.

The three seeds are added; while they stream, the consumer is killed and
one Kafka broker stopped. Once the streams are exhausted, the windows on HDFS
must equal ground truth computed from the files (groundtruth.py): records per
source and per kingdom, unique species per source and overall.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from functools import partial
from typing import Any

import groundtruth
import pytest
from controller import (
    APP_PYTHON,
    PYTHON,
    ZOOTOPIA,
    disk_budget,
    kafka_login,
    log_bytes,
    on,
    partition_offsets,
    run_playbook,
    streams,
    wait_for,
    windows,
)

SEEDS = ["https://gbif.org", "https://obis.org", "https://idigbio.org"]
CONSUMER_TROUBLE = (
    "journalctl -u zootopia-consumer --no-pager --since -45min"
    " | grep -v ' INFO ' | grep -E 'ERROR|WARN|Exception|Error|Traceback|systemd\\[' | tail -n 120"
)
NODES = ["node0", "node1", "node2"]


def playbook(name: str, *extra: str) -> str:
    result = run_playbook(name, *extra)
    return result.stdout


def counted_records() -> int:
    docs = windows()
    return int(docs[-1]["cumulative"]["records"]) if docs else 0


def unit_active(node: str, unit: str) -> bool:
    return on(node, f"systemctl is-active {unit}", check=False) == "active"


def totals(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per source: records and kingdoms summed over the windows, and the last cumulative species."""
    result: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for url, counts in doc["sources"].items():
            entry = result.setdefault(url, {"records": 0, "kingdoms": Counter(), "species": 0})
            entry["records"] += counts["records"]
            entry["kingdoms"].update(counts["kingdoms"])
            entry["species"] = counts["cumulative_species"]
    return result


@pytest.fixture(scope="module")
def truth() -> dict[str, groundtruth.Truth]:
    return groundtruth.by_seed()


@pytest.fixture(scope="module")
def added() -> list[dict[str, Any]]:
    """The three seeds, added to a pipeline that has seen nothing yet."""
    assert streams() == [], "the pipeline checks start with no source"
    # Empty windows may exist (the consumer's first batch runs at its start), and rejects: the
    # cluster checks send plain-text values to the topics. No record has been counted yet.
    assert all(doc["records"] == 0 for doc in windows()), "the pipeline checks start from no counted record"
    for seed in SEEDS:
        on("node0", f"{ZOOTOPIA} streams add {seed}")
    return streams()


@pytest.fixture(scope="module")
def held(added: list[dict[str, Any]]) -> dict[str, Any]:
    """Disturb the cluster mid-stream, then keep the consumer stopped until the streams pause for it
    (inventory/local's data topics keep 1 MiB per partition); what was seen then."""
    wait_for("records flowing", lambda: sum(row["records"] for row in streams()) > 0, 300, every=1)
    # Mid-stream: a broker goes away for a while and the consumer is killed.
    on("node2", "systemctl stop kafka")
    on("node0", "systemctl kill --signal=KILL zootopia-consumer")
    time.sleep(15)
    on("node2", "systemctl start kafka")
    on("node0", "systemctl stop zootopia-consumer")
    try:
        wait_for("a stream paused for the stopped consumer", lambda: "paused" in {r["state"] for r in streams()}, 600)
        paused = streams()
        # Retention checks (every 2 s, inventory/local) with the consumer still stopped: nothing
        # uncounted may go.
        time.sleep(25)
        seen = {"paused": paused, "after": streams(), "offsets": partition_offsets(), "log_bytes": log_bytes()}
    finally:
        on("node0", "systemctl start zootopia-consumer")
    return seen


@pytest.fixture(scope="module")
def streamed(held: dict[str, Any], truth: dict[str, groundtruth.Truth]) -> list[dict[str, Any]]:
    """Once the consumer is back: wait until every record is counted; the windows."""
    expected = sum(t.records for t in truth.values())
    wait_for("streams exhausted", lambda: all(row["state"] == "done" for row in streams()), 900)
    try:
        wait_for(f"all {expected} records counted", lambda: counted_records() >= expected, 600, every=10)
    except AssertionError as error:
        # What the consumer did instead: its unit, its restarts, and every warning, error and exit of
        # its journal since the checks began (a restarted driver's INFO lines would bury them).
        status = on("node0", "systemctl status zootopia-consumer --no-pager -n 0", check=False)
        restarts = on("node0", "systemctl show -p NRestarts zootopia-consumer", check=False)
        journal = on("node0", CONSUMER_TROUBLE, check=False)
        raise AssertionError(f"{error}\n{status}\n{restarts}\n{journal}") from error
    return windows()


def test_sources_are_assigned_round_robin_and_run_on_their_node(added: list[dict[str, Any]]) -> None:
    assert [(row["url"], row["node"]) for row in added] == list(zip(SEEDS, NODES))
    for row in added:
        node, unit = row["node"], f"zootopia-stream@{row['id']}"
        # An exhausted stream's unit stays active: it sleeps until the next crawl. The agent starts it
        # within a round or two; a busy node just after the brokers' rolling restart takes longer.
        try:
            wait_for(f"{unit} on {node}", partial(unit_active, node, unit), 180, every=1)
        except AssertionError as error:
            agent = on(node, "journalctl -u zootopia-streams-agent --no-pager -n 40", check=False)
            stream = on(node, f"journalctl -u {unit} --no-pager -n 40", check=False)
            raise AssertionError(f"{error}\n{agent}\n{stream}") from error


def test_every_record_is_counted_exactly(streamed: list[dict[str, Any]], truth: dict[str, groundtruth.Truth]) -> None:
    got = totals(streamed)
    assert set(got) == set(SEEDS)
    for seed, expected in truth.items():
        assert got[seed]["records"] == expected.records, seed
        assert dict(got[seed]["kingdoms"]) == dict(expected.kingdoms), seed
        assert got[seed]["species"] == len(expected.species), seed
    every_species = set().union(*(t.species for t in truth.values()))
    assert streamed[-1]["cumulative"]["species"] == len(every_species)
    assert streamed[-1]["cumulative"]["records"] == sum(t.records for t in truth.values())


def test_streams_pause_before_retention_deletes_a_record_not_counted(held: dict[str, Any]) -> None:
    paused = {row["url"]: row for row in held["paused"] if row["state"] == "paused"}
    for row in held["after"]:
        if row["url"] in paused:
            # Still paused with the consumer stopped: not one more record sent.
            assert (row["state"], row["records"]) == ("paused", paused[row["url"]]["records"]), row
            assert row["pauses"] >= 1, row
            assert row["lag_records"] > 0, row
    for partition, offsets in held["offsets"].items():
        # Retention deleted nothing past what the consumer had counted.
        assert offsets["start"] <= (offsets["counted"] or 0), (partition, offsets)


def test_no_partition_passed_its_retention_bound(held: dict[str, Any], streamed: list[dict[str, Any]]) -> None:
    # That retention did delete records is checked once GBIF's topic also holds the large archive
    # (test_large_archive.py): spread over three partitions, the seeds alone stay under 1 MiB in each.
    end = partition_offsets()
    for seen in (held["log_bytes"], log_bytes()):
        for partition, size in seen.items():
            assert size <= disk_budget(end[partition]["retention"]), (partition, size, end[partition])


def test_window_ids_are_contiguous_from_one(streamed: list[dict[str, Any]]) -> None:
    assert [doc["window"] for doc in streamed] == list(range(1, len(streamed) + 1))


# Directories of the results root on HDFS: window documents single and packed, species partitions and sets.
LIST_RESULTS = """
import json
from hdfs import InsecureClient
from zootopia import config
settings = config.load()
client = InsecureClient(settings.hdfs.url, user=settings.hdfs.user)
listed = {}
for name in ("windows", "windows-packed", "species", "species-compacted"):
    path = settings.hdfs.root + "/" + name
    listed[name] = client.list(path) if client.status(path, strict=False) else []
print(json.dumps(listed))
"""
# inventory/local packs the documents of every 4 windows.
DOCUMENTS_PER_PACK = 4
PACK = re.compile(r"windows-(\d+)-(\d+)\.jsonl")
SINGLE = re.compile(r"window-(\d+)\.json")


def results_listing() -> dict[str, list[str]]:
    listed: dict[str, list[str]] = json.loads(on("node0", f"{PYTHON} - <<'EOF'\n{LIST_RESULTS}\nEOF"))
    return listed


def test_older_window_documents_are_packed_each_window_in_one_place(streamed: list[dict[str, Any]]) -> None:
    for _ in range(3):  # the consumer may pack between the two listings: list again
        listed = results_listing()
        packs = sorted((int(m[1]), int(m[2])) for m in map(PACK.fullmatch, listed["windows-packed"]) if m)
        singles = sorted(int(m[1]) for m in map(SINGLE.fullmatch, listed["windows"]) if m)
        held = sorted([w for first, last in packs for w in range(first, last + 1)] + singles)
        if held == list(range(1, len(held) + 1)):
            break
    assert held == list(range(1, len(held) + 1)), (packs, singles)
    assert len(held) >= len(streamed)
    every = DOCUMENTS_PER_PACK
    assert packs == [(first, first + every - 1) for first in range(1, len(packs) * every, every)]
    assert len(packs) == (len(held) - 1) // every
    assert 1 <= len(singles) <= every + 1


def test_stream_progress_matches_what_was_sent(
    streamed: list[dict[str, Any]], truth: dict[str, groundtruth.Truth]
) -> None:
    by_url = {row["url"]: row for row in streams()}
    rejects = groundtruth.rejects_by_seed()
    for seed, expected in truth.items():
        assert by_url[seed]["records"] == expected.records
        assert by_url[seed]["rejects"] == rejects[seed], seed


# The committed rejects of a source, read as Kafka's admin (root on a node, the app's kafka-python).
READ_REJECTS = """
import json, sys
from kafka import KafkaConsumer, TopicPartition
consumer = KafkaConsumer({login}, bootstrap_servers='node0:9092', isolation_level='read_committed',
                         enable_auto_commit=False, consumer_timeout_ms=15000)
parts = [TopicPartition('zootopia.rejects', p) for p in consumer.partitions_for_topic('zootopia.rejects')]
consumer.assign(parts)
consumer.seek_to_beginning()
end = consumer.end_offsets(parts)
found = []
for message in consumer:
    body = json.loads(message.value)
    if body['source'] == sys.argv[1]:
        found.append(body)
    if all(consumer.position(p) >= end[p] for p in parts):
        break
print(json.dumps(found))
"""


def test_idigbio_dead_archive_links_are_set_aside_with_their_recordset(streamed: list[dict[str, Any]]) -> None:
    script = READ_REJECTS.format(login=kafka_login("admin")).replace("'", "'\\''")
    rejects = json.loads(on("node0", f"{APP_PYTHON} -c '{script}' https://idigbio.org"))
    named = {reject["reason"].split()[5] for reject in rejects}
    assert named == groundtruth.idigbio_dead_links()
    assert len(rejects) == len(named)
    for reject in rejects:
        assert reject["reason"].startswith("dwca resource of iDigBio recordset "), reject
        assert "404" in reject["reason"], reject
        assert "/idigbio/links/" in reject["raw"], reject
        # The resource's own position (its URL's hash): the progress covers it, a restart skips it.
        assert reject["position"]["member"] == "!/resource", reject


def test_the_cache_stayed_within_its_bound(streamed: list[dict[str, Any]]) -> None:
    settings = json.loads(on("node0", "cat /etc/zootopia/zootopia.json"))
    for node in NODES:
        used = int(on(node, f"du -sb {settings['cache']['dir']} | cut -f1"))
        assert used <= settings["cache"]["max_bytes"], node


# The keys and crawls of the finished resources' records (zootopia.finished), latest value per key.
READ_FINISHED = """
import json
from kafka import KafkaConsumer, TopicPartition
consumer = KafkaConsumer({login}, bootstrap_servers='node0:9092', isolation_level='read_committed',
                         enable_auto_commit=False, consumer_timeout_ms=15000)
part = TopicPartition('zootopia.finished', 0)
consumer.assign([part])
consumer.seek_to_beginning()
end = consumer.end_offsets([part])[part]
found = {{}}
for message in consumer:
    found[message.key.decode()] = json.loads(message.value)['crawl']
    if consumer.position(part) >= end:
        break
print(json.dumps(found))
"""


def test_each_finished_resource_is_a_record_of_its_own(streamed: list[dict[str, Any]]) -> None:
    script = READ_FINISHED.format(login=kafka_login("admin")).replace("'", "'\\''")
    finished: dict[str, int] = json.loads(on("node0", f"{APP_PYTHON} -c '{script}'"))
    gbif = next(row for row in streams() if row["url"] == "https://gbif.org")
    mine = {key: crawl for key, crawl in finished.items() if key.startswith(gbif["id"] + ":")}
    # GBIF's two recorded archives: each by its content and by its URL, in the first crawl.
    assert sorted(key.split(":")[1] == "url" for key in mine) == [False, False, True, True], mine
    assert set(mine.values()) == {1}
    idigbio = next(row for row in streams() if row["url"] == "https://idigbio.org")
    dead = groundtruth.idigbio_dead_links()
    # Every dead link (set aside whole) is finished too, so the progress does not keep it as an open line.
    assert sum(key.startswith(idigbio["id"] + ":url:") for key in finished) >= len(dead)


def test_a_restarted_exhausted_stream_sends_nothing_again(streamed: list[dict[str, Any]]) -> None:
    row = next(row for row in streams() if row["url"] == "https://idigbio.org")
    on(row["node"], f"systemctl restart zootopia-stream@{row['id']}")
    time.sleep(10)
    assert unit_active(row["node"], f"zootopia-stream@{row['id']}")
    again = next(r for r in streams() if r["url"] == row["url"])
    assert (again["records"], again["state"]) == (row["records"], "done")


def test_a_thousand_malformed_lines_are_counted_and_the_stream_goes_on(
    streamed: list[dict[str, Any]], truth: dict[str, groundtruth.Truth]
) -> None:
    good = [
        json.dumps(
            {
                groundtruth.DWC + "kingdom": "Fungi",
                groundtruth.DWC + "scientificName": f"Zootopia testus {n}",
                "contentId": f"line:zip:hash://sha256/{'f' * 64}!/occurrence.txt!/L{n + 2}",
                "rowType": groundtruth.DWC + "Occurrence",
            }
        )
        for n in range(10)
    ]
    bad = [f"{{not json {n}" for n in range(500)] + [json.dumps({"no": "contentId", "n": n}) for n in range(500)]
    lines = bad[:500] + good + bad[500:]
    feed = "\n".join(lines).replace("'", "'\\''")
    outcome = json.loads(
        on(
            "node1",
            f"printf '%s\\n' '{feed}' | {ZOOTOPIA} produce --source http://feed.test/malformed --topic gbif",
        )
    )
    assert (outcome["sent"], outcome["rejected"]) == (10, 1000)
    before = streamed[-1]["cumulative"]["records"]
    wait_for("the 10 good records counted", lambda: windows()[-1]["cumulative"]["records"] == before + 10, 300)
    last = windows()[-1]
    assert last["sources"]["http://feed.test/malformed"]["kingdoms"] == {"Fungi": 10}


def records_counted(records: int) -> bool:
    return int(windows()[-1]["cumulative"]["records"]) == records


def species_listing() -> tuple[list[int], list[int]]:
    """The windows with a species partition and the compacted sets' upto, from HDFS."""
    listed = results_listing()
    sets = sorted(int(name.removeprefix("upto=")) for name in listed["species-compacted"] if name.startswith("upto="))
    return sorted(int(name.removeprefix("window=")) for name in listed["species"]), sets


def feed_names(source: str, names: list[str], resource: int) -> None:
    """One Animalia record per name, sent by `zootopia streams produce` as one resource of `source`."""
    lines = [
        json.dumps(
            {
                groundtruth.DWC + "kingdom": "Animalia",
                groundtruth.DWC + "scientificName": name,
                # The progress tells resources apart by their hash's start.
                "contentId": f"line:zip:hash://sha256/{resource:02x}{'e' * 62}!/occurrence.txt!/L{n + 2}",
                "rowType": groundtruth.DWC + "Occurrence",
            }
        )
        for n, name in enumerate(names)
    ]
    feed = "\n".join(lines).replace("'", "'\\''")
    on("node1", f"printf '%s\\n' '{feed}' | {ZOOTOPIA} produce --source {source} --topic gbif")


def test_species_stay_exact_across_compactions(streamed: list[dict[str, Any]]) -> None:
    """Six windows, each with two new names, one name of the window before and one of the seeds: only the
    new ones count, while the species of earlier windows are compacted every 3 windows (inventory/local)."""
    source = "http://feed.test/species"
    seed_name = "Acer nigrum"  # streamed by the GBIF seed, so seen before any of these windows
    start = windows()[-1]
    for round_ in range(6):
        names = [f"Zootopia compactus {round_}a", f"Zootopia compactus {round_}b", seed_name]
        if round_:
            names.append(f"Zootopia compactus {round_ - 1}a")
        before = windows()[-1]["cumulative"]["records"]
        feed_names(source, names, 0xC0 + round_)
        # Counted before the next round is sent: each round is a window of its own.
        wait_for(f"round {round_} counted", partial(records_counted, before + len(names)), 300)
    last = windows()[-1]
    assert last["cumulative"]["species"] == start["cumulative"]["species"] + 12
    # The seed's name is new to this source, once: 12 + 1 species of its own.
    assert last["cumulative"]["sources"][source] == {"records": 6 * 3 + 5, "species": 13}
    partitions, sets = species_listing()
    # Compacted: one set, holding every window but the last few; what it holds is deleted.
    assert len(sets) == 1, (partitions, sets)
    assert sets[0] >= last["window"] - 4, (partitions, sets)
    assert all(number > sets[0] for number in partitions), (partitions, sets)


# On the master: SIGKILL the consumer the moment it logs that a window's compaction begins (its Spark
# job then still has to write the set and rename it).
KILL_AT_COMPACTION = (
    "grep -q -m1 'species: compacting' < <(timeout 600 journalctl -f -n 0 -o cat -u zootopia-consumer)"
    " && systemctl kill --signal=KILL zootopia-consumer"
)


def counted_or_killed(watcher: subprocess.Popen[str], records: int) -> bool:
    return watcher.poll() is not None or records_counted(records)


def test_species_stay_exact_when_the_consumer_is_killed_while_compacting(streamed: list[dict[str, Any]]) -> None:
    """Windows of two new names each until one compacts; the consumer is killed as it starts to. Its restart
    replays that window: the counts stay exact, the set is written once, nothing is left behind."""
    source = "http://feed.test/compaction-kill"
    start = windows()[-1]
    sent: list[str] = []
    for attempt in range(3):  # a kill that came after the set's rename did not test this: again
        watcher = subprocess.Popen(
            ["docker", "exec", "node0", "bash", "-c", KILL_AT_COMPACTION], stdout=subprocess.DEVNULL, text=True
        )
        time.sleep(2)  # journalctl follows from now
        try:
            while watcher.poll() is None:
                names = [f"Zootopia interruptus {attempt}-{len(sent)}a", f"Zootopia interruptus {attempt}-{len(sent)}b"]
                before = start["cumulative"]["records"] + len(sent)
                feed_names(source, names, 0xD0 + len(sent) // 2)
                sent += names
                wait_for(
                    "the round counted, or the consumer killed", partial(counted_or_killed, watcher, before + 2), 300
                )
        finally:
            if watcher.poll() is None:
                watcher.kill()
        assert watcher.wait() == 0, "the watcher failed: no compaction began within its 600 s"
        killed_in = windows()[-1]["window"] + 1  # its document, written last, is not there
        _, sets = species_listing()
        wait_for(
            "every record counted after the restart",
            partial(records_counted, start["cumulative"]["records"] + len(sent)),
            600,
            explain=lambda: on("node0", CONSUMER_TROUBLE, check=False),
        )
        if killed_in - 1 not in sets:  # killed before the set was renamed: mid-compaction
            break
    else:
        pytest.fail("the kill came after the compaction's rename in 3 tries")
    last = windows()[-1]
    assert last["cumulative"]["species"] == start["cumulative"]["species"] + len(sent)
    assert last["cumulative"]["sources"][source] == {"records": len(sent), "species": len(sent)}
    replayed = next(doc for doc in windows() if doc["window"] == killed_in)
    assert (replayed["sources"][source]["records"], replayed["sources"][source]["new_species"]) == (2, 2), replayed
    partitions, sets = species_listing()
    assert len(sets) == 1, (partitions, sets)
    assert all(number > sets[0] for number in partitions), (partitions, sets)
    # The killed run's temporary set was written over by the replay and renamed: none is left.
    assert [name for name in results_listing()["species-compacted"] if not name.startswith("upto=")] == []


WARM_UP_LEFT = """
from hdfs import InsecureClient
from zootopia import config
settings = config.load()
client = InsecureClient(settings.hdfs.url, user=settings.hdfs.user)
print(client.status(settings.hdfs.root + "/.warm-up", strict=False) is not None)
"""


def test_every_start_of_the_consumer_warms_up_first_and_leaves_nothing(streamed: list[dict[str, Any]]) -> None:
    """The consumer has started at least twice by now (the checks above kill it); each start ran a window's
    jobs on sample records read back through Kafka before its query (consumer/warmup.py: it fails unless
    every sample name came back), and deleted what they wrote on HDFS."""
    journal = on(
        "node0",
        "journalctl -u zootopia-consumer --no-pager -o cat | grep -E 'warm-up|zootopia.consumer INFO consuming'",
    )
    lines = journal.splitlines()
    assert [line for line in lines if "warm-up failed" in line] == []
    queries = [index for index, line in enumerate(lines) if " consuming " in line]
    assert len(queries) >= 2, journal
    # Each query's start comes right after a warm-up that ran.
    ran = "warm-up: a window's jobs ran on sample records read from zootopia.warm-up"
    assert all(index > 0 and ran in lines[index - 1] for index in queries), journal
    assert on("node0", f"{PYTHON} - <<'EOF'\n{WARM_UP_LEFT}\nEOF") == "False"
    # The running query marked itself for the deployment's wait (roles/zootopia, units.yml).
    assert re.fullmatch(r"[0-9a-f-]{36}", on("node0", "cat /run/zootopia-consumer/consuming"))


def test_values_that_are_not_records_are_counted_as_rejects_by_the_consumer(streamed: list[dict[str, Any]]) -> None:
    before = windows()[-1]["cumulative"]["rejects"]
    send = (
        "from kafka import KafkaProducer;"
        f"p = KafkaProducer(bootstrap_servers='node2:9092', acks='all', {kafka_login('streams')});"
        "[p.send('obis', key=b'http://feed.test/garbage', value=b'garbage %d' % n) for n in range(7)]; p.flush()"
    )
    on("node2", f'{APP_PYTHON} -c "{send}"')
    wait_for("7 rejects counted", lambda: windows()[-1]["cumulative"]["rejects"] == before + 7, 300)


# URLs an operator's CLI may be given that a stream must not reach, and why each is refused.
REFUSED = {
    "http://127.0.0.1:8088/gbif/large/1MiB.zip": "(127.0.0.1 is loopback)",
    "http://172.30.80.11:9870/webhdfs/v1/zootopia?op=OPEN&user.name=hdfs": "(172.30.80.11 is one of the cluster's own",
    "http://169.254.169.254/latest/meta-data/dwca.zip": "(169.254.169.254 is link-local)",
}


def test_streams_refuse_loopback_a_nodes_webhdfs_and_the_metadata_address(streamed: list[dict[str, Any]]) -> None:
    """Added with the operator's CLI on a node: each stream sets its URL aside, refused by the egress
    rules before connecting, and sends no record."""
    for url in REFUSED:
        on("node0", f"{ZOOTOPIA} streams add --topic gbif '{url}'")
    try:
        rows = {row["url"]: row for row in streams() if row["url"] in REFUSED}
        assert set(rows) == set(REFUSED)
        wait_for(
            "the three streams exhausted",
            lambda: all(row["state"] == "done" for row in streams() if row["url"] in REFUSED),
            180,
        )
        done = {row["url"]: (row["records"], row["rejects"]) for row in streams() if row["url"] in REFUSED}
        assert done == dict.fromkeys(REFUSED, (0, 1))
        script = READ_REJECTS.format(login=kafka_login("admin")).replace("'", "'\\''")
        for url, why in REFUSED.items():
            rejects = json.loads(on("node0", f"{APP_PYTHON} -c '{script}' '{url}'"))
            assert len(rejects) == 1, rejects
            assert "refused by the egress rules" in rejects[0]["reason"], rejects
            assert why in rejects[0]["reason"], rejects
    finally:
        for url in REFUSED:
            on("node0", f"{ZOOTOPIA} streams remove --if-active '{url}'", check=False)


def test_a_source_removed_by_the_playbook_stops_and_the_rest_survive_a_node_restart() -> None:
    rows = {row["url"]: row for row in streams()}
    removed = playbook("playbooks/streams.yml", "-e", json.dumps({"streams_remove": ["https://idigbio.org"]}))
    assert "changed=1" in removed
    again = playbook("playbooks/streams.yml", "-e", json.dumps({"streams_remove": ["https://idigbio.org"]}))
    assert "changed=0" in again
    idigbio = rows["https://idigbio.org"]
    stream = f"zootopia-stream@{idigbio['id']}"
    try:
        # The agent reconciles every 5 s; a round waits longer while a broker it bootstraps from is slow.
        wait_for("the idigbio stream stopped", lambda: not unit_active(idigbio["node"], stream), 180)
    except AssertionError as error:
        agent = on(idigbio["node"], "journalctl -u zootopia-streams-agent --no-pager -n 40", check=False)
        raise AssertionError(
            f"{error}\n{stream}: {on(idigbio['node'], f'systemctl status {stream}', check=False)}\n{agent}"
        ) from error
    subprocess.run(["docker", "restart", "node1"], check=True, capture_output=True)
    obis = rows["https://obis.org"]
    wait_for("the obis stream back on node1", lambda: unit_active("node1", f"zootopia-stream@{obis['id']}"), 300)
    assert [row["url"] for row in streams()] == ["https://gbif.org", "https://obis.org"]
