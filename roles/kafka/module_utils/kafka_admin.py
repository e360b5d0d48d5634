"""What the role's Kafka modules share: how they log in to the brokers as the admin principal."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

try:
    from kafka import KafkaAdminClient
except ImportError:  # each module reports it
    KafkaAdminClient = None

T = TypeVar("T")
# Right after a rolling restart the cluster may still be settling (a controller moving, a broker's
# metadata not yet known): an error Kafka calls retriable is asked again for this long.
RETRY_SECONDS = 90.0
RETRY_PAUSE_SECONDS = 3.0

# Module options every Kafka module takes (AnsibleModule argument_spec entries).
CONNECTION_OPTIONS: dict[str, dict[str, Any]] = {
    "bootstrap_servers": {"type": "str", "required": True},
    "ca_file": {"type": "path", "required": True},
    "username": {"type": "str", "default": "admin"},
    # A file, so the password is in no module argument, log or diff.
    "password_file": {"type": "path", "required": True},
}


def admin_client(params: dict[str, Any]) -> KafkaAdminClient:
    """A KafkaAdminClient over SASL_SSL (SCRAM-SHA-512, server certificate and name checked)."""
    password = Path(params["password_file"]).read_text(encoding="utf-8").strip()
    return KafkaAdminClient(
        bootstrap_servers=params["bootstrap_servers"],
        client_id="zootopia-ansible",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=params["username"],
        sasl_plain_password=password,
        ssl_cafile=params["ca_file"],
        ssl_check_hostname=True,
    )


def retried(call: Callable[[], T], seconds: float = RETRY_SECONDS, sleep: Callable[[float], None] = time.sleep) -> T:
    """`call()` again while it raises an error Kafka marks retriable, for `seconds` at most; any other
    error, or the last retriable one, is raised. `call` must be safe to repeat (a reconciliation is)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except Exception as error:
            if not getattr(error, "retriable", False) or time.monotonic() >= deadline:
                raise
        sleep(RETRY_PAUSE_SECONDS)
