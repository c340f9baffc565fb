"""Configuration of online metrics (structured by ``ego_cl.runners.config``)."""

from __future__ import annotations

import attrs

__all__ = ["MetricsConfig"]


@attrs.frozen(kw_only=True)
class MetricsConfig:
    """Which extra online metrics a stream run computes.

    Attributes:
        top_k: The k of the top-k accuracy (and of the top-k indices kept in prediction logs).
        near_future_k: If set, also score sample ``t + k`` with the model before it learned
            ``t`` (near-future accuracy); ``None`` = off.
        past_eval: Evaluate the updated model on a window of past samples after each step
            (re-exposure forgetting). Off by default: it costs a forward pass per step.
        past_window: Number of most recent seen samples in the past-evaluation window.
        past_batch_size: Batch size of the past-window evaluation.
        upstream_elementwise_decorrelation: Decide "label changed" for actions element-wise
            (the original's quirk) instead of comparing the (verb, noun) tuple.
        upstream_hag_reference: Report HAG as the original did (spec §6.6): against the frozen
            baseline's *online* values (train mode with ``upstream_train_mode_predict``) instead
            of its eval-mode hindsight pass, and for balanced top-1 against the *group mean* of
            those values over the users (the mean gain is unchanged, its SE is not) **[quirk]**.
    """

    top_k: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    near_future_k: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(1))
    )
    past_eval: bool = False
    past_window: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    past_batch_size: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    upstream_elementwise_decorrelation: bool = False
    upstream_hag_reference: bool = False
