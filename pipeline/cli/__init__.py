"""The `pipeline` command line: the one room that imports typer and rich.

`commands` declares the commands, `options` the options they share, and `console` renders
the runner's progress. Nothing below the CLI imports any of them.
"""

from pipeline.cli.commands import app, main

__all__ = ["app", "main"]
