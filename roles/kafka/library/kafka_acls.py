"""Ansible module: make the ACLs of some Kafka principals exactly the declared ones."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kafka_acls
short_description: Reconcile the ALLOW ACLs of Kafka principals with a declared list
description:
  - For every principal given, creates the declared ACLs that are missing and deletes the ACLs the
    brokers hold for it that are not declared. ACLs of other principals are left alone. Supports
    check mode and diff. Logs in over SASL_SSL with a password read from a file on the host. Needs
    kafka-python on the host it runs on.
options:
  bootstrap_servers: {type: str, required: true, description: "host:port list, comma separated."}
  ca_file: {type: path, required: true, description: PEM file of the CA that signed the brokers' certificates.}
  username: {type: str, default: admin, description: SCRAM-SHA-512 principal to log in as (a super user).}
  password_file: {type: path, required: true, description: File holding that principal's password.}
  acls:
    type: dict
    required: true
    description:
      - Principal name (without C(User:)) to a list of grants, each with C(resource) (topic, group,
        transactional_id, cluster), C(names), C(operations) (Kafka's names, e.g. Read, Write,
        Describe) and C(prefixed) (names are prefixes).
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.kafka_admin import CONNECTION_OPTIONS, KafkaAdminClient, admin_client, retried

try:
    from kafka.admin import (
        ACL,
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourcePatternFilter,
        ResourceType,
    )
except ImportError:  # reported by the module below
    ACL = None

# (principal, resource type, name, pattern type, operation): one ALLOW ACL for any host.
Entry = tuple[str, str, str, str, str]


def declared(acls: dict[str, list[dict[str, Any]]]) -> set[Entry]:
    entries = set()
    for principal, grants in acls.items():
        for grant in grants:
            pattern = "PREFIXED" if grant.get("prefixed") else "LITERAL"
            resource = grant["resource"].upper()
            for name in grant["names"]:
                for operation in grant["operations"]:
                    entries.add((f"User:{principal}", resource, name, pattern, _enum_name(operation)))
    return entries


def _enum_name(operation: str) -> str:
    """Kafka's operation names (IdempotentWrite) as kafka-python's enum members (IDEMPOTENT_WRITE)."""
    return "".join("_" + c if c.isupper() and i else c for i, c in enumerate(operation)).upper()


def _held(admin: KafkaAdminClient, principals: list[str]) -> set[Entry]:
    everything = ACLFilter(
        principal=None,
        host=None,
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    found, error = admin.describe_acls(everything)
    if error.errno:
        raise RuntimeError(f"describing ACLs failed: {error}")
    return {
        (
            acl.principal,
            acl.resource_pattern.resource_type.name,
            acl.resource_pattern.resource_name,
            acl.resource_pattern.pattern_type.name,
            acl.operation.name,
        )
        for acl in found
        if acl.principal in principals
    }


def _acl(entry: Entry, filter_only: bool = False) -> ACLFilter:
    principal, resource, name, pattern, operation = entry
    kind = ACLFilter if filter_only else ACL
    pattern_kind = ResourcePatternFilter if filter_only else ResourcePattern
    return kind(
        principal=principal,
        host="*",
        operation=ACLOperation[operation],
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=pattern_kind(ResourceType[resource], name, ACLResourcePatternType[pattern]),
    )


def run(module: AnsibleModule) -> dict[str, Any]:
    wanted = declared(module.params["acls"])
    principals = [f"User:{name}" for name in module.params["acls"]]
    admin = admin_client(module.params)
    try:
        held = _held(admin, principals)
        missing, extra = sorted(wanted - held), sorted(held - wanted)
        if not module.check_mode:
            if missing:
                result = admin.create_acls([_acl(entry) for entry in missing])
                if result["failed"]:
                    raise RuntimeError(f"creating ACLs failed: {result['failed']}")
            if extra:
                for _, _, error in admin.delete_acls([_acl(entry, filter_only=True) for entry in extra]):
                    if error.errno:
                        raise RuntimeError(f"deleting ACLs failed: {error}")
    finally:
        admin.close()
    before = sorted(" ".join(entry) for entry in held)
    after = sorted(" ".join(entry) for entry in wanted)
    return {
        "changed": bool(missing or extra),
        "created": [" ".join(entry) for entry in missing],
        "deleted": [" ".join(entry) for entry in extra],
        "diff": {"before": "\n".join(before) + "\n", "after": "\n".join(after) + "\n"},
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={**CONNECTION_OPTIONS, "acls": {"type": "dict", "required": True}},
        supports_check_mode=True,
    )
    if ACL is None:
        module.fail_json(msg="kafka-python is missing here: the kafka role runs this module in kafka_modules_venv")
    try:
        module.exit_json(**retried(lambda: run(module)))
    except Exception as error:  # any client error becomes a readable failure
        module.fail_json(msg=f"reconciling the ACLs failed: {error}")


if __name__ == "__main__":
    main()
