"""The docs say what the code does: generated op table, README commands, CI script."""

from __future__ import annotations

import re
from pathlib import Path

from engine import opsdoc
from engine.ops import OPS

ROOT = Path(__file__).resolve().parent.parent


def test_ops_md_matches_the_registry() -> None:
    text = (ROOT / "docs" / "ops.md").read_text(encoding="utf-8")
    assert text == opsdoc.render(), "regenerate: python -m engine.opsdoc > docs/ops.md"
    for name in OPS:
        assert f"`{name}`" in text


def test_ops_md_states_the_kink_conventions() -> None:
    text = (ROOT / "docs" / "ops.md").read_text(encoding="utf-8")
    assert "relu′(0) = 0" in text and "abs′(0) = 0" in text


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.index("```")
    assert readme[:first_block].strip().startswith("# ")
    assert readme[:first_block].count("\n") <= 2  # only the title before the commands
    cmds = _readme_commands()
    assert len(cmds) == 2
    assert cmds[0].endswith("python main.py")
    assert "[test]" in cmds[1] and "pytest" in cmds[1]


def test_ci_runs_the_second_readme_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_commands()[1] in ci.splitlines()
