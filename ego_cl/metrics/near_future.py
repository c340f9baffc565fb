"""Near-future accuracy: score sample ``i + offset`` with the model before it learned ``i``.

Online accuracy on a correlated stream rewards predicting "the same as just now". Following
"Rapid Adaptation in Online Continual Learning: Are We Evaluating It Right?" (Al Kader Hammoud
et al., 2023), the runner also lets the model of step ``t`` (before it learns batch ``t``) predict
the samples ``offset`` positions after each sample of the batch, skipping the correlated
neighbourhood, and logs those rows (``step = t``, ``index`` = the predicted sample) as a
separate prediction log. Each future sample is predicted exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from ego_cl.metrics.stream_metrics import stream_metrics

__all__ = ["near_future_indices", "near_future_metrics"]


def near_future_indices(batch_indices: Sequence[int], *, offset: int, n_samples: int) -> list[int]:
    """The stream indices to predict at a step: ``i + offset`` for each ``i`` in the batch, if it exists.

    Args:
        batch_indices: Stream indices of the current batch.
        offset: How far ahead (``MetricsConfig.near_future_k``, >= 1).
        n_samples: Stream length.

    Example:
        >>> near_future_indices([4, 5, 6, 7], offset=3, n_samples=10)
        [7, 8, 9]
    """
    if offset < 1:
        raise ValueError(f"offset must be >= 1, got {offset}")
    return [int(i) + offset for i in batch_indices if int(i) + offset < n_samples]


def near_future_metrics(table: pa.Table, *, k: int = 5) -> dict[str, float]:
    """Accuracies and losses of the near-future log, named ``near_future/{mode}/...``."""
    return stream_metrics(table, k=k, prefix="near_future")
