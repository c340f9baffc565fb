"""The multi-task verb/noun classification head shared by every network."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MultiTaskHead"]


class MultiTaskHead(nn.Module):
    """Dropout, then two linear classifiers over the pooled clip feature.

    Matches the original ``MultiTaskHead`` after pooling: ``dropout -> Linear(d, n_verbs)`` and
    ``dropout -> Linear(d, n_nouns)`` (one dropout mask shared by both), weights drawn from
    ``N(0, 0.01²)`` with zero bias. Returns logits in train and eval mode.

    Args:
        feature_dim: Size ``d`` of the pooled feature.
        n_verbs: Number of verb classes.
        n_nouns: Number of noun classes.
        dropout: Dropout probability before the classifiers.

    Example:
        >>> head = MultiTaskHead(feature_dim=8, n_verbs=3, n_nouns=5, dropout=0.5).eval()
        >>> verb, noun = head(torch.zeros(2, 8))
        >>> tuple(verb.shape), tuple(noun.shape)
        ((2, 3), (2, 5))
    """

    def __init__(self, *, feature_dim: int, n_verbs: int, n_nouns: int, dropout: float = 0.5):
        super().__init__()
        if n_verbs < 1 or n_nouns < 1:
            raise ValueError(f"need at least one verb and one noun class, got {n_verbs}, {n_nouns}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.dropout = nn.Dropout(dropout)
        self.verb = nn.Linear(feature_dim, n_verbs)
        self.noun = nn.Linear(feature_dim, n_nouns)
        for layer in (self.verb, self.noun):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)

    @property
    def n_verbs(self) -> int:
        """Number of verb classes."""
        return self.verb.out_features

    @property
    def n_nouns(self) -> int:
        """Number of noun classes."""
        return self.noun.out_features

    @property
    def feature_dim(self) -> int:
        """Size of the input feature."""
        return self.verb.in_features

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``features[B, d]`` → ``(verb_logits[B, n_verbs], noun_logits[B, n_nouns])``."""
        x = self.dropout(features)
        return self.verb(x), self.noun(x)
