"""Shared facts for the testinfra checks: the stack's pinned data, read from the repository."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest
import testinfra
import yaml
from testinfra.host import Host

ROOT = Path(__file__).resolve().parents[3]
# The controller tests' folder, for the one ansible-playbook runner of both test trees.
sys.path.insert(0, str(ROOT / "tests"))
# The modules in the order they run: deployment first; the pipeline checks (the seeds, then a large
# archive, which removes its source when done) before the checks that read the results they leave;
# the master's restart (end of test_api) and the docs' commands (stop and start among them) before the
# last look at every unit; the secrets once
# everything that could leak one has run; the firewall last, once every node has been restarted (its
# rules must come back at boot).
ORDER = [
    "test_app",
    "test_api_deploy",
    "test_base",
    "test_cluster",
    "test_kafka_security",
    "test_operations",
    "test_pipeline",
    "test_large_archive",
    "test_dashboard",
    "test_api",
    "test_docs",
    "test_units",
    "test_secrets",
    "test_firewall",
]
STACK_DEFAULTS = ROOT / "roles" / "stack" / "defaults" / "main.yml"
LOCAL_HOSTS = ROOT / "inventory" / "local" / "hosts.yml"


def _render(value: object, context: dict[str, Any], env: jinja2.Environment) -> object:
    """Render the plain `{{ var }}` templates of the stack defaults (no lookups needed here)."""
    if isinstance(value, str):
        while "{{" in value:
            value = env.from_string(value).render(context)
        return value
    if isinstance(value, list):
        return [_render(item, context, env) for item in value]
    if isinstance(value, dict):
        return {key: _render(item, context, env) for key, item in value.items()}
    return value


@pytest.fixture(scope="session")
def stack_defaults() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(STACK_DEFAULTS.read_text())
    data.pop("stack_artifact_cache_dir")  # a controller path built from lookups; not needed on nodes
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return {key: _render(value, data, env) for key, value in data.items()}


@pytest.fixture
def inventory(host: Host) -> dict[str, Any]:
    variables: dict[str, Any] = host.ansible.get_variables()
    return variables


@pytest.fixture
def artifacts(stack_defaults: dict[str, Any], inventory: dict[str, Any]) -> list[dict[str, str]]:
    source = inventory.get("stack_artifact_source", stack_defaults["stack_artifact_source"])
    chosen: list[dict[str, str]] = stack_defaults["stack_artifacts"][source]
    return chosen


@pytest.fixture(scope="session")
def node_addresses() -> dict[str, str]:
    hosts = yaml.safe_load(LOCAL_HOSTS.read_text())["all"]["children"]["cluster"]["hosts"]
    return {name: values["node_address"] for name, values in hosts.items()}


@pytest.fixture(scope="session")
def node(request: pytest.FixtureRequest) -> Callable[[str], Host]:
    """Another node of the same inventory, for checks that span nodes."""

    def get(name: str) -> Host:
        host: Host = testinfra.get_host(
            f"ansible://{name}", connection="ansible", ansible_inventory=request.config.option.ansible_inventory
        )
        return host

    return get


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.module.__name__ if isinstance(item, pytest.Function) else ""
        return ORDER.index(name) if name in ORDER else len(ORDER)

    items.sort(key=rank)  # stable: a module's checks keep their order
