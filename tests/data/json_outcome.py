"""What a JSON decoder did with some bytes, comparable across decoders (shared by the JSON tests)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def outcome(call: Callable[[bytes], Any], data: bytes) -> tuple:
    """``("value", canonical text)`` or ``("error", type, message)``: ``json.dumps`` tells ``1`` from
    ``1.0`` and ``-0.0`` from ``0.0``, keeps key order, and spells NaN."""
    try:
        return ("value", json.dumps(call(data)))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        return ("error", type(err).__name__, str(err))
