"""What the role's Kafka modules share: how they log in to the brokers as the admin principal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    from kafka import KafkaAdminClient
except ImportError:  # each module reports it
    KafkaAdminClient = None

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
