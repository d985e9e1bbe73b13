"""Settings that stick to the working folder: what a command sets on its command line stays
the folder's setting until it is changed, set back to its default, or cleared with
`pipeline config --reset`.

They are kept in .pipeline/settings.json, never in the user's pipeline.toml, each with the
command that set it, so `pipeline config` can say "set by `run-all --epochs 3`". An option
given with the value the setting has without it (its default, pipeline.toml's, or the kept
preset's) drops the kept value instead of keeping a copy. A command that stops with an error
keeps nothing it set (the CLI writes back what it read before): a mistyped `--label-column`
must not haunt every later bare command.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.cache import atomic_write_bytes
from pipeline.config import STATE_DIR, Config, load_config, settings
from pipeline.errors import PipelineError

FILE = STATE_DIR / "settings.json"
_UNSET = object()


@dataclass(frozen=True)
class Change:
    """A kept setting that this command changed; `kept` is False when it went back to the
    value it has without one (its default, or pipeline.toml's)."""

    name: str
    old: Any
    new: Any
    kept: bool

    def __str__(self) -> str:
        return f"{self.name} {json.dumps(self.old)} -> {json.dumps(self.new)}" + ("" if self.kept else " (unset)")


def configure(given: dict[str, Any], by: str, keep: bool = True, reset: bool = False,
              file: Path = FILE) -> tuple[Config, list[Change]]:
    """The effective configuration under `given` ({"train.epochs": 3, "data_dir": "comp"}:
    this command's options) and the settings kept for the folder. With `keep`, `given`
    becomes the folder's setting (`by` names the command line that set it) once the
    configuration has been checked; `reset` first clears every kept setting."""
    try:
        kept = read(file)
    except PipelineError:
        if not reset:
            raise
        kept = {}  # unreadable: --reset is how to clear it
    updated = {} if reset else dict(kept)
    at = time.strftime("%Y-%m-%d %H:%M:%S")
    for name, value in given.items():
        if updated.get(name, {}).get("value", _UNSET) != value:
            updated[name] = {"value": value, "by": by, "at": at}
    # an option given with the value its setting has without it drops the kept value (--no-tta
    # is kept under best, which implies --tta)
    for name in given:
        without = {other: entry for other, entry in updated.items() if other != name}
        if _effective(without).get(name, _UNSET) == given[name]:
            updated = without
    before, after = _effective(kept), _effective(updated)
    changes = [Change(name, before.get(name), after.get(name), name in updated)
               for name in sorted(set(kept) | set(updated))]
    changes = [change for change in changes if change.old != change.new]
    if not keep:
        data_dir = given.get("data_dir")
        return load_config(_sections(given), Path(data_dir) if data_dir else None, kept=_layer(kept)), []
    config = load_config(kept=_layer(updated))  # checked before anything is written
    if updated != kept or reset:
        write(updated, file)
    return config, changes


def _effective(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every setting's value under the kept `entries` (none where they do not load)."""
    try:
        return {name: value for name, value, _ in settings(load_config(kept=_layer(entries)))}
    except PipelineError:
        return {}


def read(file: Path = FILE) -> dict[str, dict[str, Any]]:
    """The kept settings: {name: {"value": ..., "by": the command line, "at": when}}."""
    try:
        entries = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{file} is unreadable ({exc}); run `pipeline config --reset` to clear it") from None
    if not isinstance(entries, dict) or not all(isinstance(e, dict) and "value" in e for e in entries.values()):
        raise PipelineError(f"{file} is not a settings file; run `pipeline config --reset` to clear it")
    return entries


def write(entries: dict[str, dict[str, Any]], file: Path = FILE) -> None:
    try:
        if entries:
            atomic_write_bytes(file, (json.dumps(entries, indent=1, sort_keys=True) + "\n").encode())
        else:
            file.unlink(missing_ok=True)
    except OSError as exc:
        raise PipelineError(f"cannot write {file} ({exc.strerror}); make {file.parent} writable") from None


def _layer(entries: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, str]]:
    return {name: (entry["value"], f"set by `{entry.get('by', '?')}`") for name, entry in entries.items()}


def _sections(given: dict[str, Any]) -> dict[str, dict[str, Any]]:
    sections: dict[str, dict[str, Any]] = {}
    for name, value in given.items():
        section, _, key = name.partition(".")
        if key:  # not data_dir
            sections.setdefault(section, {})[key] = value
    return sections
