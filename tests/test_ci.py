""".ci/run finds the README's test command by its marker, whatever code blocks come before it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_ci(tmp_path: Path, readme: str) -> subprocess.CompletedProcess:
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "README.md").write_text(readme)
    return subprocess.run(["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True, timeout=60)


def test_the_block_under_the_marker_runs(tmp_path: Path) -> None:
    readme = ("# x\n\n```bash\necho the demo, not this\n```\n\n```toml\na = 1\n```\n\n"
              "<!-- test command: .ci/run runs the block below -->\n```bash\necho tests ran\n```\n\n```bash\nexit 3\n```\n")
    done = run_ci(tmp_path, readme)
    assert done.returncode == 0 and done.stdout.splitlines() == ["+ echo tests ran", "tests ran"]


def test_a_readme_without_the_marker_fails(tmp_path: Path) -> None:
    done = run_ci(tmp_path, "# x\n\n```bash\necho hello\n```\n")
    assert done.returncode == 1 and "no code block under a '<!-- test command' marker" in done.stderr


def test_the_readmes_own_marker_names_the_pytest_command() -> None:
    text = (ROOT / "README.md").read_text()
    after = text.split("<!-- test command", 1)[1]
    assert "pytest" in after.split("```")[1]
