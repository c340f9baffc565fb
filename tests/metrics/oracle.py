"""Brute-force reference implementations (plain Python loops over logits and label sets)."""

from __future__ import annotations

import math

import numpy as np


def log_softmax(row: list[float]) -> list[float]:
    top = max(row)
    norm = top + math.log(math.fsum(math.exp(x - top) for x in row))
    return [x - norm for x in row]


def np_log_softmax(row: list[float]) -> list[float]:
    x = np.asarray(row, np.float64)
    shifted = x - x.max()
    return (shifted - np.log(np.exp(shifted).sum())).tolist()


def ranked(row: list[float]) -> list[int]:
    return sorted(range(len(row)), key=lambda c: (-row[c], c))


def ranked_actions(verb_row: list[float], noun_row: list[float]) -> list[tuple[int, int]]:
    """All pairs by joint log-probability (float64, the log's formula), ties by verb rank, then noun rank."""
    lv, ln = np_log_softmax(verb_row), np_log_softmax(noun_row)
    rv = {c: r for r, c in enumerate(ranked(verb_row))}
    rn = {c: r for r, c in enumerate(ranked(noun_row))}
    pairs = [(v, n) for v in range(len(lv)) for n in range(len(ln))]
    return sorted(pairs, key=lambda p: (-(lv[p[0]] + ln[p[1]]), rv[p[0]], rn[p[1]]))


def sample_facts(verb_row, noun_row, labels, k):
    """Per sample: top-1 / top-k correctness per mode, losses, primary classes."""
    verbs = {v for v, _ in labels}
    nouns = {n for _, n in labels}
    rv, rn, ra = ranked(verb_row), ranked(noun_row), ranked_actions(verb_row, noun_row)
    lv, ln = log_softmax(verb_row), log_softmax(noun_row)
    return {
        "top1": {"verb": rv[0] in verbs, "noun": rn[0] in nouns, "action": (rv[0], rn[0]) in set(labels)},
        "topk": {
            "verb": bool(verbs & set(rv[:k])),
            "noun": bool(nouns & set(rn[:k])),
            "action": bool(set(labels) & set(ra[:k])),
        },
        "loss": {
            "verb": sum(-lv[v] for v, _ in labels) / len(labels),
            "noun": sum(-ln[n] for _, n in labels) / len(labels),
            "action": sum(-lv[v] - ln[n] for v, n in labels) / len(labels),
        },
        "primary": {"verb": labels[0][0], "noun": labels[0][1], "action": labels[0]},
    }


def stream_facts(stream, k):
    facts = []
    for prediction, batch in stream:
        for verb_row, noun_row, labels in zip(
            prediction.verb_logits.tolist(), prediction.noun_logits.tolist(), batch.target.label_sets()
        ):
            facts.append(sample_facts(verb_row, noun_row, list(labels), k))
    return facts


def micro(facts, mode, key):
    return 100 * sum(f[key][mode] for f in facts) / len(facts) if facts else math.nan


def balanced(facts, mode):
    per_class: dict = {}
    for f in facts:
        per_class.setdefault(f["primary"][mode], []).append(f["top1"][mode])
    if not per_class:
        return math.nan
    return 100 * sum(sum(v) / len(v) for v in per_class.values()) / len(per_class)


def mean_loss(facts, mode):
    return sum(f["loss"][mode] for f in facts) / len(facts) if facts else math.nan
