"""The consumer: Kafka's data topics in, exact per-window counts on HDFS out.

`job` is the spark-submit file (one micro-batch per window); `rules` and `columns` say what a record
counts as, `documents` builds a window's document, `layout` and `store` place and read them on HDFS.
"""
