"""The ``ego-cl`` console script: one entry point, one subcommand per command module.

``ego-cl stream [ARGS ...]`` runs exactly what ``python -m ego_cl.runners.stream [ARGS ...]`` runs
(same arguments, exit codes and one-line errors); likewise for every command in :data:`COMMANDS`.
``ego-cl --help`` lists them without importing any (a command's module, and with it torch, is
imported only when that command runs, so the overview is instant).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from ego_cl import __version__

__all__ = ["COMMANDS", "main", "usage"]

PROG = "ego-cl"

EXIT_USAGE = 2
"""Exit code of a usage error (as :data:`ego_cl.runners.cli.EXIT_USAGE`, not imported: see below)."""

COMMANDS: dict[str, str] = {
    "stream": "online per-user adaptation (no arguments: the embedded demo)",
    "synth": "write a synthetic Ego4D-format dataset",
    "split": "the original user split of an Ego4D root",
    "resize": "the resized-clip cache of an Ego4D root",
    "pretrain": "population pretraining of a video network",
    "checkpoints": "convert a trusted checkpoint into a plain, safe file",
    "hindsight": "final user models over whole streams (HAG, transfer)",
    "report": "tables and plots of finished runs",
    "summarize": "per-user stream statistics, label histograms, contact sheets",
}
"""Subcommand → one-line description; each is the module ``ego_cl.runners.<name>`` with ``main(argv)``."""


def usage() -> str:
    """The overview ``ego-cl --help`` prints."""
    width = max(map(len, COMMANDS))
    lines = [
        f"usage: {PROG} COMMAND [ARGS ...]",
        "",
        "Online per-user adaptation of video action recognition on egocentric (Ego4D) video.",
        "",
        "commands:",
        *(f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()),
        "",
        f"'{PROG} COMMAND --help' shows a command's options; '{PROG} COMMAND ...' is the same as",
        "'python -m ego_cl.runners.COMMAND ...'. --version prints the version.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ego-cl``; returns the process exit code.

    Args:
        argv: Arguments after the program name (``None``: ``sys.argv[1:]``).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if args else sys.stderr)
        return 0 if args else EXIT_USAGE
    if args[0] in ("-V", "--version"):
        print(f"{PROG} {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"{PROG}: unknown command {name!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return EXIT_USAGE
    # lazy: cli imports the configs and with them torch, which --help and usage errors never need
    from ego_cl.runners.cli import guarded_main

    command = importlib.import_module(f"ego_cl.runners.{name}")
    return guarded_main(command.main, rest)


if __name__ == "__main__":
    sys.exit(main())
