"""The `zootopia` command: streams, the stream and agent processes, the mirror, the consumer."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from importlib.util import find_spec
from pathlib import Path

import zootopia
from zootopia import config, kafka_clients
from zootopia.streams import registry


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # kafka-python narrates every connection at INFO, and every refused one at ERROR: an operator's
    # command says in one line what went wrong instead (ZOOTOPIA_DEBUG=1 shows it all).
    operator = getattr(args, "operator", False) and not os.environ.get("ZOOTOPIA_DEBUG")
    logging.getLogger("kafka").setLevel(logging.CRITICAL if operator else logging.WARNING)
    try:
        return int(args.handler(args))
    except registry.SourceError as error:
        print(f"zootopia: {error}", file=sys.stderr)
        return 2
    except (ValueError, RuntimeError, OSError) as error:
        # An operator's command that cannot act says why in one line; a service's traceback goes to
        # its journal. kafka-python's errors (no broker answering, a refused login) are RuntimeErrors.
        if not operator:
            raise
        print(f"zootopia: {_reason(error)}", file=sys.stderr)
        return 1


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())
    name = type(error).__name__
    if type(error).__module__.startswith("kafka") or isinstance(error, TimeoutError):
        # kafka-python's messages are often just the class name (NoBrokersAvailable).
        detail = f"{name}: {text}" if text and text != name else name
        return f"Kafka did not answer as expected ({detail}); are the brokers up? (systemctl status kafka)"
    if isinstance(error, PermissionError) or "Permission denied" in text:
        where = f"{error.strerror}: {error.filename}" if isinstance(error, PermissionError) else text
        return f"{where}: run it as root (it switches to the app's user itself)"
    return text or name


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zootopia", description=__doc__)
    parser.add_argument("--version", action="version", version=f"zootopia {zootopia.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    streams = commands.add_parser("streams", help="the active sources").add_subparsers(dest="action", required=True)
    add = streams.add_parser("add", help="stream a source (a seed, a registry or a DwC-A URL)")
    add.add_argument("url")
    add.add_argument("--topic", help="topic to stream to, when no rule matches the URL's host")
    add.set_defaults(handler=_streams_add, operator=True)
    remove = streams.add_parser("remove", help="stop streaming a source")
    remove.add_argument("url")
    remove.add_argument("--if-active", action="store_true", help="succeed when the source is not active")
    remove.set_defaults(handler=_streams_remove, operator=True)
    listing = streams.add_parser("list", help="the active sources, their node and progress")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_streams_list, operator=True)
    agent = streams.add_parser("agent", help="run this node's stream units (systemd service)")
    agent.add_argument("--node", required=True)
    agent.add_argument("--interval", type=float, default=5.0)
    agent.set_defaults(handler=_streams_agent)

    run_stream = commands.add_parser("stream", help="one stream (systemd instance)").add_subparsers(
        dest="action", required=True
    )
    run = run_stream.add_parser("run", help="stream one registered source by id")
    run.add_argument("id")
    run.set_defaults(handler=_stream_run)

    produce = commands.add_parser("produce", help="send json-stream lines from stdin as a source's stream")
    produce.add_argument("--source", required=True, help="the source URL the lines come from (the Kafka key)")
    produce.add_argument("--topic", required=True)
    produce.set_defaults(handler=_produce, operator=True)

    mirror = commands.add_parser("mirror", help="the offline mirror of GBIF, OBIS and iDigBio").add_subparsers(
        dest="action", required=True
    )
    serve = mirror.add_parser("serve", help="serve the recorded data under the aggregators' API paths")
    from zootopia import mirror as mirror_module

    mirror_module.add_arguments(serve)
    serve.set_defaults(handler=mirror_module.run)

    api = commands.add_parser("api", help="the HTTP API and dashboard").add_subparsers(dest="action", required=True)
    api_serve = api.add_parser("serve", help="serve the API with gunicorn (systemd service)")
    api_serve.add_argument("--bind", default="127.0.0.1:10001", help="HOST:PORT to listen on")
    api_serve.add_argument("--workers", type=int, default=2)
    api_serve.add_argument("--threads", type=int, default=8)
    api_serve.add_argument("--certfile", help="PEM certificate: serve HTTPS")
    api_serve.add_argument("--keyfile", help="PEM private key of the certificate")
    api_serve.set_defaults(handler=_api_serve)

    settings = commands.add_parser("settings", help="the settings file").add_subparsers(dest="action", required=True)
    check = settings.add_parser("check", help="read a settings file as every process would; exit 2 if it is wrong")
    check.add_argument("path", type=Path)
    check.set_defaults(handler=_settings_check)

    consumer = commands.add_parser("consumer", help="the Spark Structured Streaming job").add_subparsers(
        dest="action", required=True
    )
    consumer.add_parser("run", help="spark-submit the job to the cluster (client mode)").set_defaults(
        handler=_consumer_run
    )
    return parser


def _streams_add(args: argparse.Namespace) -> int:
    source, added = registry.add(config.load(principal=kafka_clients.API), args.url, args.topic)
    verb = "added" if added else "already streaming"
    print(f"{verb} {source.url} -> topic {source.topic}, node {source.node} (id {source.id})")
    return 0


def _streams_remove(args: argparse.Namespace) -> int:
    source = registry.remove(config.load(principal=kafka_clients.API), args.url)
    if source is None:
        if args.if_active:
            print(f"not active {registry.normalize(args.url)}")
            return 0
        raise registry.SourceError(f"{args.url} is not an active source")
    print(f"removed {source.url} (was on {source.node})")
    return 0


def _streams_list(args: argparse.Namespace) -> int:
    rows = []
    for source, state in registry.with_progress(config.load(principal=kafka_clients.API)):
        rows.append(
            {
                **asdict(source),
                "state": state.state,
                "records": state.records,
                "rejects": state.rejects,
                # Backpressure: records of its topic the consumer had not counted when last asked.
                "lag_records": state.lag_records,
                "pauses": state.pauses,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        counts = f"{row['records']} records\t{row['rejects']} rejects\t{row['lag_records']} behind"
        print(f"{row['url']}\t{row['topic']}\t{row['node']}\t{row['state']}\t{counts}")
    return 0


def _streams_agent(args: argparse.Namespace) -> int:
    from zootopia.streams import agent

    agent.run(config.load(principal=kafka_clients.STREAMS), args.node, args.interval)
    return 0


def _stream_run(args: argparse.Namespace) -> int:
    from zootopia.streams import runner

    return runner.run_source(config.load(principal=kafka_clients.STREAMS), args.id)


def _produce(args: argparse.Namespace) -> int:
    from zootopia.streams import runner

    settings = config.load(principal=kafka_clients.STREAMS)
    if args.topic not in settings.kafka.data_topics:
        raise registry.SourceError(f"unknown topic {args.topic!r}; the data topics are {settings.kafka.data_topics}")
    outcome = runner.produce_lines(settings, registry.normalize(args.source), args.topic)
    print(json.dumps(asdict(outcome)))
    return 0


def _api_serve(args: argparse.Namespace) -> int:
    from zootopia.api.serve import serve

    serve(args.bind, args.workers, args.threads, args.certfile, args.keyfile)
    return 1  # not reached: serve() replaces this process


def _settings_check(args: argparse.Namespace) -> int:
    """Ansible writes the settings only once this passes (copy's validate): a wrong value stops the run."""
    try:
        config.load(args.path)
    except (ValueError, TypeError, KeyError) as error:
        print(f"zootopia: {args.path}: {error}", file=sys.stderr)
        return 2
    print(f"{args.path}: valid settings")
    return 0


def _consumer_run(args: argparse.Namespace) -> int:
    from zootopia.consumer import submit

    settings = config.load().consumer
    spec = find_spec("zootopia.consumer.job")
    assert spec is not None
    assert spec.origin is not None
    # systemd's RuntimeDirectory= (private to the unit), else a private temporary directory.
    runtime = os.environ.get("RUNTIME_DIRECTORY") or tempfile.mkdtemp(prefix="zootopia-consumer-")
    command = submit.command(settings, spec.origin, Path(runtime))
    os.execv(command[0], command)
    return 1  # not reached: execv replaces this process
