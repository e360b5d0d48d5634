"""Zootopia: a streaming biodiversity pipeline (producers, Spark job, API).

The package is deployed to the cluster nodes by Ansible; its modules arrive
with the ingest, processing and API work.
"""

__version__ = "0.1.0"
