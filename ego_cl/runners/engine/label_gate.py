"""The only way a learner reaches labelled stream samples besides ``learn(batch)``: a guarded ``fetch``.

Replay-style learners get ``fetch(indices) -> Batch`` (labelled clips of stream positions) from
the runner. Unguarded, that callable would hand out the label of *any* position: the batch about to
be predicted, or batches far in the future. :class:`LabelGate` wraps the runner's fetch and serves
only positions whose labels the learner has already been shown, i.e. indices below the end of the
last batch passed to ``learn`` (the online loop moves that end with :meth:`LabelGate.show`, right
before it calls ``learn``). Anything else raises :class:`~ego_cl.types.LabelLeakError`.

The runner's own evaluations (past-window re-exposure, near-future prediction) predict label-free
views and compute their logs outside the learner; they use the unguarded fetch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ego_cl.types import Batch, LabelLeakError

__all__ = ["LabelGate"]


class LabelGate:
    """A ``fetch`` that serves only stream positions whose labels the learner has been shown.

    Args:
        fetch: The runner's unguarded ``fetch(indices) -> Batch`` (labelled, in the order asked).
        shown_end: Positions ``< shown_end`` may be fetched (``0``: none yet; set on resume).

    Example:
        >>> gate = LabelGate(lambda idx: idx, shown_end=4)
        >>> gate.fetch([0, 3])
        [0, 3]
        >>> gate.fetch([4])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ego_cl.types.LabelLeakError: fetch of stream indices [4]: only indices < 4 ...
    """

    def __init__(self, fetch: Callable[[Sequence[int]], Batch], *, shown_end: int = 0):
        self._fetch = fetch
        self.shown_end = shown_end

    def fetch(self, indices: Sequence[int]) -> Batch:
        """The labelled batch of ``indices``, all of which must be ``< shown_end``.

        Raises:
            LabelLeakError: Some index is negative or was not yet shown to the learner.
        """
        bad = [int(i) for i in indices if not 0 <= int(i) < self.shown_end]
        if bad:
            raise LabelLeakError(
                f"fetch of stream indices {bad[:8]}: only indices < {self.shown_end} "
                "(labels already shown to the learner) may be fetched"
            )
        return self._fetch(indices)

    def show(self, batch: Batch) -> None:
        """Record that ``batch`` (with its labels) is about to be given to ``learn``."""
        if len(batch):
            self.shown_end = max(self.shown_end, int(batch.indices.max()) + 1)
