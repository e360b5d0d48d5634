"""The Spark consumer: Kafka topics -> exact per-window counts on HDFS (job.py is the spark-submit file)."""
