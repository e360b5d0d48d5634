"""Sources: a source URL in, its rows out.

A seed (https://gbif.org, https://obis.org, https://idigbio.org) is crawled into the resources its
registry names (`crawl`); each is downloaded into a bounded, content-addressed cache (`cache`) and
read row by row (`readers`). `engine` is the built-in engine that chains them, `preston` runs
Preston's own `track | json-stream` instead. Out come `records.Record` rows, `Malformed` rows set
aside with a reason, and a `ResourceDone` after each resource; nothing here talks to Kafka.
"""
