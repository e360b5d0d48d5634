"""Streams: the rows of a source in, Kafka records out, exactly once.

`registry` holds the active sources (a compacted Kafka topic); each node's `agent` starts the
`zootopia-stream@<id>` units its node is assigned; `runner` is one such process: it takes the rows
of `zootopia.sources` and hands them to `producer`, where the Kafka transaction is: records, rejects
and the stream's `progress` committed together, so a restart resumes after the last committed row.
`watchdog` ends a process whose commit hangs, for systemd to restart.
"""
