"""Transfer matrices from hindsight evaluations (spec §6.7): model-user × stream-user.

``absolute[r, c]`` is a hindsight metric of user ``r``'s final model on user ``c``'s stream;
``gain[r, c] = sign × (absolute[r, c] − reference[c])`` where ``reference[c]`` is the frozen
pretrained model on stream ``c`` (sign −1 for losses). The diagonal of the gain matrix is the
per-user HAG. Unfilled cells are ``nan`` (the original wrote ``inf``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs
import numpy as np

from ego_cl.metrics.aggregation import UserAggregate, aggregate
from ego_cl.metrics.gains import gain_sign
from ego_cl.types import UserId

__all__ = ["TransferMatrix", "transfer_matrix"]


@attrs.frozen(kw_only=True, eq=False)
class TransferMatrix:
    """One metric's transfer matrices.

    Attributes:
        metric: The hindsight metric name (e.g. ``hindsight/action/loss``).
        users: Row and column order (rows = model user, columns = stream user).
        absolute: ``float64[U, U]`` metric values, ``nan`` where not evaluated.
        gain: ``float64[U, U]`` gains against the pretrained model on each column's stream.
    """

    metric: str
    users: tuple[UserId, ...]
    absolute: np.ndarray
    gain: np.ndarray

    def diagonal(self) -> UserAggregate:
        """Mean ± SE over users of the diagonal gains (the HAG)."""
        return aggregate(np.diag(self.gain).tolist())

    def off_diagonal_mean(self) -> float:
        """Mean gain of the filled off-diagonal cells (other users' models on a stream)."""
        mask = ~np.eye(len(self.users), dtype=bool) & ~np.isnan(self.gain)
        return float(self.gain[mask].mean()) if mask.any() else math.nan


def transfer_matrix(
    pairs: Mapping[tuple[UserId, UserId], Mapping[str, float]],
    reference: Mapping[UserId, Mapping[str, float]],
    *,
    metric: str,
    users: Sequence[UserId] | None = None,
) -> TransferMatrix:
    """Build the absolute and gain matrices of one hindsight metric.

    Args:
        pairs: ``(model_user, stream_user)`` -> hindsight metric values of that evaluation.
        reference: Stream user -> the pretrained model's hindsight values on that stream.
        metric: Which metric to tabulate.
        users: Row/column order; default: every user in ``pairs``, sorted as strings (as the
            original).

    Raises:
        KeyError: A stream user has no reference value for ``metric``.

    Example:
        >>> tm = transfer_matrix({("a", "a"): {"m/loss": 1.0}, ("a", "b"): {"m/loss": 4.0},
        ...                       ("b", "b"): {"m/loss": 2.0}},
        ...                      {"a": {"m/loss": 2.0}, "b": {"m/loss": 3.0}}, metric="m/loss")
        >>> tm.gain.tolist()
        [[1.0, -1.0], [nan, 1.0]]
    """
    if users is None:
        users = sorted({u for pair in pairs for u in pair}, key=str)
    position = {u: i for i, u in enumerate(users)}
    absolute = np.full((len(users), len(users)), math.nan)
    gain = np.full_like(absolute, math.nan)
    sign = gain_sign(metric)
    for (model_user, stream_user), values in pairs.items():
        if model_user not in position or stream_user not in position or metric not in values:
            continue
        if metric not in reference.get(stream_user, {}):
            raise KeyError(f"no pretrained reference of {metric!r} on the stream of user {stream_user!r}")
        r, c = position[model_user], position[stream_user]
        absolute[r, c] = values[metric]
        gain[r, c] = sign * (values[metric] - reference[stream_user][metric])
    return TransferMatrix(metric=metric, users=tuple(users), absolute=absolute, gain=gain)
