"""The verb/noun label space: from ``fho_lta_taxonomy.json`` when present, else inferred."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import attrs

from ego_cl.data.problems import Problems, read_json
from ego_cl.types import ActionAnnotation

__all__ = ["TAXONOMY_FILE", "Taxonomy", "find_taxonomy", "infer_taxonomy", "load_taxonomy"]

TAXONOMY_FILE = "v1/annotations/fho_lta_taxonomy.json"
"""Where the Ego4D download keeps the taxonomy, relative to the Ego4D root."""


@attrs.frozen(kw_only=True)
class Taxonomy:
    """Number and names of verb and noun classes.

    Attributes:
        n_verbs: Verb classes, labels ``0 .. n_verbs-1``.
        n_nouns: Noun classes, labels ``0 .. n_nouns-1``.
        verbs: Verb names by label (``"verb_<i>"`` when unknown).
        nouns: Noun names by label.

    Example:
        >>> t = Taxonomy.unnamed(2, 3)
        >>> t.nouns
        ('noun_0', 'noun_1', 'noun_2')
    """

    n_verbs: int = attrs.field(validator=attrs.validators.gt(0))
    n_nouns: int = attrs.field(validator=attrs.validators.gt(0))
    verbs: tuple[str, ...] = attrs.field(converter=tuple)
    nouns: tuple[str, ...] = attrs.field(converter=tuple)

    def __attrs_post_init__(self) -> None:
        if len(self.verbs) != self.n_verbs or len(self.nouns) != self.n_nouns:
            raise ValueError("Taxonomy needs exactly one name per verb and per noun label")

    @staticmethod
    def unnamed(n_verbs: int, n_nouns: int) -> Taxonomy:
        """A taxonomy with placeholder names."""
        return Taxonomy(
            n_verbs=n_verbs,
            n_nouns=n_nouns,
            verbs=[f"verb_{i}" for i in range(n_verbs)],
            nouns=[f"noun_{i}" for i in range(n_nouns)],
        )


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read the Ego4D taxonomy file (keys ``verbs`` and ``nouns``: lists of names).

    Raises:
        AnnotationError: Missing file, or ``verbs``/``nouns`` not non-empty lists of strings.
    """
    raw = read_json(path)
    problems = Problems(path)
    names: dict[str, list[str]] = {}
    for key in ("verbs", "nouns"):
        value = raw.get(key) if isinstance(raw, dict) else None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            problems.add("<root>", key, "expected a non-empty list of names")
        else:
            names[key] = value
    problems.raise_if_any()
    return Taxonomy(
        n_verbs=len(names["verbs"]), n_nouns=len(names["nouns"]), verbs=names["verbs"], nouns=names["nouns"]
    )


def find_taxonomy(
    ego4d_root: str | Path,
    infer_from: Iterable[ActionAnnotation] | None = None,
    *,
    annotations_dir: str | Path | None = None,
) -> Taxonomy | None:
    """The taxonomy of an Ego4D root: its :data:`TAXONOMY_FILE` (``fho_lta_taxonomy.json`` in
    ``annotations_dir`` when given) when present, else inferred from ``infer_from`` (``None`` when
    there is no file and nothing to infer from).

    Raises:
        AnnotationError: The taxonomy file is malformed.
    """
    if annotations_dir is not None:
        path = Path(annotations_dir) / Path(TAXONOMY_FILE).name
    else:
        path = Path(ego4d_root) / TAXONOMY_FILE
    if path.is_file():
        return load_taxonomy(path)
    return None if infer_from is None else infer_taxonomy(infer_from)


def infer_taxonomy(annotations: Iterable[ActionAnnotation]) -> Taxonomy:
    """A taxonomy of ``max label + 1`` classes, named from the annotations where they say.

    Example:
        >>> from fractions import Fraction as F
        >>> from ego_cl.types import Span
        >>> a = ActionAnnotation(clip_uid="c", video_uid="v", user_id="1", origin_video_id="o",
        ...     clip_parent_start_s=0, clip_parent_end_s=9, action_idx=0, span=Span(F(0), F(1)),
        ...     verb_label=2, noun_label=0, verb="take", noun="cup")
        >>> infer_taxonomy([a]).verbs
        ('verb_0', 'verb_1', 'take')
    """
    verb_names: dict[int, str] = {}
    noun_names: dict[int, str] = {}
    for a in annotations:
        verb_names.setdefault(a.verb_label, a.verb)
        noun_names.setdefault(a.noun_label, a.noun)
    n_verbs = max(verb_names, default=-1) + 1
    n_nouns = max(noun_names, default=-1) + 1
    if n_verbs == 0 or n_nouns == 0:
        raise ValueError("cannot infer a taxonomy from no annotations")
    return Taxonomy(
        n_verbs=n_verbs,
        n_nouns=n_nouns,
        verbs=[verb_names.get(i) or f"verb_{i}" for i in range(n_verbs)],
        nouns=[noun_names.get(i) or f"noun_{i}" for i in range(n_nouns)],
    )
