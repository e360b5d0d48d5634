"""The shell blocks of the docs, by where they run: the one parser of the unit checks (tests/test_docs.py)
and of the molecule check that runs them on the local cluster (molecule/default/tests/test_docs.py).

A block opens with ```sh and an optional marker: none, run on the controller from the repository's
root; `master`, as root on the master; `node`, as root on a node that is not the master;
`production`, needs the CloudLab inventory and its vault (syntax-checked only); `ci`, the README's
two commands (`make test` is what CI runs; `make demo`'s steps are molecule's).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The pages whose shell blocks are run; every other page shows commands inline only.
RUN_PAGES = [ROOT / "README.md", ROOT / "docs" / "operations.md"]
MARKERS = ("controller", "master", "node", "production", "ci")
SHELL_LANGUAGES = ("sh", "bash", "shell", "console", "zsh")
_FENCE = re.compile(r"^```(\S*)\s*(.*)$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    marker: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced block of `page`; `marker` is "controller" for a shell block without one."""
    found: list[Block] = []
    opened: tuple[int, str, str] | None = None
    lines: list[str] = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        match = _FENCE.match(line)
        if opened is None and match:
            language, rest = match.group(1), match.group(2).strip()
            opened, lines = (number, language, rest or ("controller" if language in SHELL_LANGUAGES else "")), []
        elif opened is not None and line.startswith("```"):
            found.append(Block(page, opened[0], opened[1], opened[2], "\n".join(lines) + "\n"))
            opened = None
        elif opened is not None:
            lines.append(line)
    return found


def shell_blocks(page: Path) -> list[Block]:
    return [block for block in blocks(page) if block.language in SHELL_LANGUAGES]


def commands(block: Block) -> list[str]:
    """The block's commands: continuation lines joined, comments and blank lines left out."""
    joined = re.sub(r"\\\n\s*", " ", block.text)
    out = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            out.append(stripped)
    return out


def syntax_check_argv(command: str) -> list[str]:
    """`command` (an ansible-playbook line of a production block) as a --syntax-check: what needs the
    vault's password is left out, the rest is as written."""
    words = shlex.split(command, comments=True)
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word in ("--vault-id", "--ask-vault-pass", "-J"):
            skip = word == "--vault-id"
            continue
        if word in ("--check", "-C", "--diff", "-D"):
            continue
        out.append(word)
    return [*out, "--syntax-check"]
