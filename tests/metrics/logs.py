"""Hand-built prediction-log rows for tests that need exact control of correctness and losses."""

from __future__ import annotations

import pyarrow as pa

from ego_cl.metrics.prediction_log import LOG_COLUMNS, prediction_log_table


def row(step: int, index: int, verb: int, noun: int, *, correct: bool = True, loss: float = 1.0) -> dict:
    """One single-label row whose top-1 verb, noun and action are right iff ``correct``."""
    pv, pn = (verb, noun) if correct else (verb + 1, noun + 1)
    return {
        "step": step,
        "index": index,
        "verb_labels": [verb],
        "noun_labels": [noun],
        "verb_topk": [pv],
        "noun_topk": [pn],
        "action_topk_verb": [pv],
        "action_topk_noun": [pn],
        "verb_loss": loss,
        "noun_loss": loss,
        "action_loss": 2 * loss,
    }


def table(rows: list[dict]) -> pa.Table:
    return prediction_log_table({name: [r[name] for r in rows] for name in LOG_COLUMNS})
