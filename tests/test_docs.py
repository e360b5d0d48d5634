"""The docs as their readers get them: a short README linking a page per reader, no project history,
links that resolve, and commands that run (the blocks that need a cluster run in molecule's test_docs;
here the production blocks' syntax, every playbook the docs name, and the Makefile's own promises)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import doc_commands
import pytest
from doc_commands import ROOT

README = ROOT / "README.md"
PAGES = ["operations", "security", "architecture", "benchmarks", "testing", "variables"]
DOCS = [README, ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
ANSIBLE_PLAYBOOK = str(ROOT / ".venv" / "bin" / "ansible-playbook")
# Words of a project's history, which belongs to git and the issues, not to its docs.
HISTORY = re.compile(r"\b(issue|stop|rehearsal|session)s?\s+#?\d+|\brehearsals?\b|\bCI rehearsal", re.IGNORECASE)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    inside = False
    anchors = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = not inside
        elif not inside and line.startswith("#"):
            anchors.add(_slug(line.lstrip("#")))
    return anchors


def test_the_readme_is_short() -> None:
    assert README.stat().st_size <= 20_000


def test_the_readme_links_a_page_per_reader_and_the_changelog() -> None:
    text = README.read_text(encoding="utf-8")
    for page in PAGES:
        assert (ROOT / "docs" / f"{page}.md").is_file(), page
        assert f"](docs/{page}.md" in text, page
    assert "](CHANGELOG.md)" in text


def test_the_changelog_starts_at_the_apps_version() -> None:
    newest = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    version = re.search(r'^version = "([^"]+)"', (ROOT / "app/pyproject.toml").read_text(), re.MULTILINE)
    assert newest is not None
    assert version is not None
    assert newest.group(1) == version.group(1)


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_no_project_history_in_the_docs(page: Path) -> None:
    if page.name == "CHANGELOG.md":
        return  # a changelog says what changed by version, which is not a run log
    found = [match.group(0) for match in HISTORY.finditer(page.read_text(encoding="utf-8"))]
    assert found == []


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_every_link_resolves(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)
    assert broken == []


def test_shell_blocks_are_only_on_the_pages_that_are_run() -> None:
    for page in DOCS:
        for block in doc_commands.shell_blocks(page):
            assert page in doc_commands.RUN_PAGES, f"{block.where}: show commands inline on this page"
            assert block.marker in doc_commands.MARKERS, f"{block.where}: unknown marker {block.marker!r}"


def test_the_run_pages_have_commands_for_the_cluster() -> None:
    markers = {block.marker for page in doc_commands.RUN_PAGES for block in doc_commands.shell_blocks(page)}
    assert {"controller", "master", "node", "production", "ci"} <= markers


def test_the_readme_two_commands_are_make_targets() -> None:
    (block,) = [block for block in doc_commands.shell_blocks(README) if block.marker == "ci"]
    assert [command.split("#")[0].split() for command in doc_commands.commands(block)] == [
        ["make", "demo"],
        ["make", "test"],
    ]


def test_production_blocks_parse_and_their_playbooks_pass_the_syntax_check() -> None:
    production = [
        block
        for page in doc_commands.RUN_PAGES
        for block in doc_commands.shell_blocks(page)
        if block.marker == "production"
    ]
    assert production
    checked = 0
    for block in production:
        parsed = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True, check=False)
        assert parsed.returncode == 0, f"{block.where}: {parsed.stderr}"
        for command in doc_commands.commands(block):
            if not command.startswith(".venv/bin/ansible-playbook "):
                assert (ROOT / command.split()[0]).exists() or command.startswith(".venv/bin/"), command
                continue
            argv = doc_commands.syntax_check_argv(command)
            result = subprocess.run(
                [ANSIBLE_PLAYBOOK, *argv[1:]], cwd=ROOT, capture_output=True, text=True, check=False
            )
            assert result.returncode == 0, f"{block.where}: {command}\n{result.stdout}\n{result.stderr}"
            checked += 1
    assert checked >= 3


def test_every_playbook_the_docs_name_passes_the_syntax_check() -> None:
    named = set()
    for page in DOCS:
        named.update(re.findall(r"ansible-playbook ((?:[\w.-]+/)*[\w.-]+\.yml)", page.read_text(encoding="utf-8")))
    missing = sorted(path for path in named if not (ROOT / path).is_file())
    assert missing == []
    assert {"site.yml", "playbooks/status.yml", "bench/consumer_rate.yml"} <= named
    result = subprocess.run(
        [ANSIBLE_PLAYBOOK, "--syntax-check", *sorted(named)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_alone_prints_every_target() -> None:
    result = subprocess.run(["make", "--no-print-directory"], cwd=ROOT, capture_output=True, text=True, check=True)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([a-z-]+):", makefile, re.MULTILINE)
    assert len(targets) >= 12
    listed = {line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip()}
    assert listed == set(targets)
    assert "demo" in listed
    assert "test" in listed


def test_make_demo_without_the_data_stops_at_once_naming_the_variable(tmp_path: Path) -> None:
    env = {**os.environ, "ZOOTOPIA_DATA_DIR": str(tmp_path / "no-data-here")}
    started = time.monotonic()
    result = subprocess.run(
        ["make", "--no-print-directory", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert time.monotonic() - started < 30
    assert result.returncode != 0
    assert "ZOOTOPIA_DATA_DIR" in result.stderr
    assert "bootstrap" not in result.stdout + result.stderr  # nothing was installed
