"""Shared command-line plumbing: ``--config FILE``, ``key=value`` overrides, ``--print-config``,
and the mapping of user errors to exit code 2 without a traceback."""

from __future__ import annotations

import argparse
import re
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ego_cl.runners.config import ConfigError, dump_yaml, load_config
from ego_cl.runners.files import NoSpaceError, is_no_space
from ego_cl.runners.heap import own_process
from ego_cl.runners.logs import LOG_FORMATS, LOG_LEVELS, configure_logging
from ego_cl.types import InputError

__all__ = [
    "EXIT_FAILED",
    "EXIT_USAGE",
    "add_config_arguments",
    "add_log_arguments",
    "config_from_args",
    "guarded_main",
    "doc_summary",
    "plain",
    "setup_logging",
]

T = TypeVar("T")

EXIT_USAGE = 2
"""Exit code for user errors: bad config, bad input files, bad arguments."""

EXIT_FAILED = 1
"""Exit code when the run itself failed (e.g. some users failed)."""


def add_config_arguments(parser: argparse.ArgumentParser, example: str = "learner.lr=1e-3") -> None:
    """Add ``--config``, ``--print-config``, positional ``key=value`` overrides (``example``
    shows one of this command's keys) and the log options."""
    parser.add_argument("--config", metavar="FILE", help="YAML or TOML config file")
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config as YAML and exit"
    )
    parser.add_argument("overrides", nargs="*", metavar="key=value", help=f"dotted overrides, e.g. {example}")
    add_log_arguments(parser)


def plain(text: str) -> str:
    """Help text without reStructuredText markup (````code````, ``:func:`x```` -> ``x``).

    Example:
        >>> plain("``python -m x RUN_DIR``: see :func:`a.b`")
        'python -m x RUN_DIR: see a.b'
    """
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "")


def doc_summary(doc: str | None) -> str:
    """A command's ``--help`` description from its module docstring: the first sentence without
    the usage that precedes it, without markup.

    Example:
        >>> doc_summary("``python -m ego_cl.runners.report RUN_DIR``: tables and plots of runs.\\n")
        'Tables and plots of runs.'
    """
    first = plain((doc or "").strip().splitlines()[0] if doc and doc.strip() else "")
    _, sep, rest = first.partition(": ")
    text = rest if sep and first.startswith("python -m ") else first
    return text[:1].upper() + text[1:]


def add_log_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--log-format`` and ``--log-level`` (they win over ``run.log_format``/``run.log_level``)."""
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="console log lines: auto = pretty on a terminal, JSON otherwise (default: auto)",
    )
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS, help="lowest level shown on the console (default: info)"
    )


def setup_logging(args: argparse.Namespace, run: Any = None) -> None:
    """Configure logging from ``--log-format``/``--log-level``, then ``run.log_format``/
    ``run.log_level`` of a run config (``run``), then the defaults."""
    log_format = getattr(args, "log_format", None) or getattr(run, "log_format", None) or "auto"
    level = getattr(args, "log_level", None) or getattr(run, "log_level", None) or "info"
    configure_logging(level=level, log_format=log_format)


def config_from_args(cls: type[T], args: argparse.Namespace, base: dict[str, Any] | None = None) -> T:
    """Build the config from parsed arguments; prints it and exits 0 on ``--print-config``."""
    cfg = load_config(cls, args.config, args.overrides, base=base)
    if args.print_config:
        sys.stdout.write(dump_yaml(cfg))
        raise SystemExit(0)
    return cfg


def guarded_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main`` and turn user errors into one-line messages and exit code 2.

    ``ConfigError`` and every ``InputError`` print their lines to stderr; a full disk is one
    line naming the file (exit 1); an interrupt (Ctrl-C, or ``SIGTERM`` where the command turns
    it into one) prints the ``--resume`` command the engine attached (``exc.resume``) and exits
    with ``128 + signal``. Nothing else is swallowed (a bug still shows its traceback). The
    process is then ego_cl's own (:func:`ego_cl.runners.heap.own_process`).
    """
    own_process()
    try:
        return main(argv)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return EXIT_USAGE
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if not is_no_space(exc):
            raise
        where = (
            str(exc) if isinstance(exc, NoSpaceError) else f"{exc.filename}: no space left ({exc.strerror})"
        )
        print(f"error: {where}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM turned into Terminated by the command
        signum = int(getattr(exc, "signum", signal.SIGINT))
        text = f"interrupted ({signal.Signals(signum).name})"
        if getattr(exc, "resume", None):
            text += f"; every user keeps its last checkpoint. Continue with:\n  {exc.resume}"
        print(text, file=sys.stderr)
        return 128 + signum
