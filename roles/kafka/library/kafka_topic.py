"""Ansible module: make one Kafka topic match its declared partitions, replication and settings."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kafka_topic
short_description: Create a Kafka topic or reconcile it with the declared state
description:
  - Creates the topic when missing. Grows its partition count; refuses to shrink it or to change
    its replication factor (both need a data migration, not a setting). Sets its configuration to
    exactly the declared keys. Supports check mode. Needs kafka-python on the host it runs on.
options:
  bootstrap_servers: {type: str, required: true, description: "host:port list, comma separated."}
  ca_file: {type: path, required: true, description: PEM file of the CA that signed the brokers' certificates.}
  username: {type: str, default: admin, description: SCRAM-SHA-512 principal to log in as.}
  password_file: {type: path, required: true, description: File holding that principal's password.}
  name: {type: str, required: true, description: Topic name.}
  partitions: {type: int, required: true, description: Partition count.}
  replication_factor: {type: int, required: true, description: Replicas per partition.}
  config: {type: dict, default: {}, description: Topic-level settings (all other keys at broker defaults).}
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.kafka_admin import CONNECTION_OPTIONS, admin_client, retried

try:
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
    from kafka.errors import for_code
except ImportError:  # reported by the module below
    KafkaAdminClient = None

UNKNOWN_TOPIC = 3


def _describe(admin: KafkaAdminClient, name: str) -> dict[str, Any] | None:
    topics: list[dict[str, Any]] = admin.describe_topics([name])
    if not topics or topics[0]["error_code"] == UNKNOWN_TOPIC:
        return None
    if topics[0]["error_code"]:
        # Kafka's own error class, which says whether asking again may help (a leader not yet elected).
        raise for_code(topics[0]["error_code"])(f"describing topic {name}")
    return topics[0]


def _overrides(admin: KafkaAdminClient, name: str) -> dict[str, str]:
    """The topic's settings that are not broker defaults."""
    response = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])[0]
    entries = response.resources[0][4]
    # Entry: (name, value, read_only, is_default | config_source, is_sensitive, ...);
    # config_source 1 is DYNAMIC_TOPIC_CONFIG, is_default False means set on the topic.
    version = response.API_VERSION
    return {entry[0]: entry[1] for entry in entries if (entry[3] == 1 if version >= 1 else entry[3] is False)}


def run(module: AnsibleModule) -> dict[str, Any]:
    params = module.params
    name = params["name"]
    wanted_config = {key: str(value) for key, value in params["config"].items()}
    admin = admin_client(params)
    try:
        topic = _describe(admin, name)
        if topic is None:
            if not module.check_mode:
                admin.create_topics(
                    [NewTopic(name, params["partitions"], params["replication_factor"], topic_configs=wanted_config)]
                )
            return {"changed": True, "diff": {"before": {}, "after": {"name": name, **params}}}

        partitions = len(topic["partitions"])
        replication = len(topic["partitions"][0]["replicas"])
        if replication != params["replication_factor"]:
            module.fail_json(
                msg=f"topic {name} has replication factor {replication}, {params['replication_factor']} is declared: "
                "changing it needs a partition reassignment, not a setting"
            )
        if partitions > params["partitions"]:
            module.fail_json(
                msg=f"topic {name} has {partitions} partitions, {params['partitions']} are declared: "
                "Kafka cannot remove partitions"
            )
        config = _overrides(admin, name)
        before = {"partitions": partitions, "config": config}
        after = {"partitions": params["partitions"], "config": wanted_config}
        changed = before != after
        if changed and not module.check_mode:
            if partitions < params["partitions"]:
                admin.create_partitions({name: NewPartitions(total_count=params["partitions"])})
            if config != wanted_config:
                admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs=wanted_config)])
        return {"changed": changed, "diff": {"before": before, "after": after}}
    finally:
        admin.close()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **CONNECTION_OPTIONS,
            "name": {"type": "str", "required": True},
            "partitions": {"type": "int", "required": True},
            "replication_factor": {"type": "int", "required": True},
            "config": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    if KafkaAdminClient is None:
        module.fail_json(msg="kafka-python is missing here: the kafka role runs this module in kafka_modules_venv")
    try:
        module.exit_json(name=module.params["name"], **retried(lambda: run(module)))
    except Exception as error:  # any client error becomes a readable failure
        module.fail_json(msg=f"reconciling topic {module.params['name']} failed: {error}")


if __name__ == "__main__":
    main()
