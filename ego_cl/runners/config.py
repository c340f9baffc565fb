"""Run configuration: frozen attrs classes, the one strict cattrs converter, file + override loading.

Loading order: a YAML or TOML file (optional) → dotted ``a.b.c=value`` overrides applied to the
raw dict (values parsed as YAML scalars) → one strict ``structure`` call. Unknown keys, wrong
types, ``"false"``-style strings for booleans and invalid values are all errors that name the
dotted path; :func:`ConfigError.lines` gives one line per problem.

Example:
    >>> cfg = load_config(StreamRunConfig, overrides=["learner.kind=replay", "run.seed=3"])
    >>> cfg.learner.kind, cfg.run.seed
    ('replay', 3)
"""

from __future__ import annotations

import math
import re
import sys
import typing
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs
import cattrs
import yaml
from cattrs.errors import AttributeValidationNote, ClassValidationError, ForbiddenExtraKeysError

from ego_cl.data.config import DataConfig
from ego_cl.learners.finetune import FinetuneConfig
from ego_cl.learners.networks.config import ModelConfig
from ego_cl.learners.registry import LEARNER_CONFIGS, LearnerConfig
from ego_cl.metrics.config import MetricsConfig
from ego_cl.runners.config_text import MAX_CHARS, MAX_DEPTH, ConfigTextError, parse_toml, parse_yaml
from ego_cl.runners.run_config import PoolConfig, RunConfig, SlurmConfig, UserIds, structure_user_ids
from ego_cl.streams.config import StreamConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
    from exceptiongroup import ExceptionGroup

__all__ = [
    "ConfigError",
    "PoolConfig",
    "RunConfig",
    "SlurmConfig",
    "StreamRunConfig",
    "apply_overrides",
    "config_differences",
    "converter",
    "dump_yaml",
    "load_config",
    "read_config_file",
]

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration problem, with one human-readable line per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))

    def lines(self) -> list[str]:
        """One ``config error: ...`` line per problem."""
        return [f"config error: {p}" for p in self.problems]


@attrs.frozen(kw_only=True)
class StreamRunConfig:
    """Everything ``python -m ego_cl.runners.stream`` needs."""

    data: DataConfig = DataConfig()
    stream: StreamConfig = StreamConfig()
    model: ModelConfig = ModelConfig()
    learner: LearnerConfig = FinetuneConfig()
    metrics: MetricsConfig = MetricsConfig()
    pool: PoolConfig = PoolConfig()
    run: RunConfig = RunConfig()


def _structure_fraction(value: Any, _: type) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Fraction):
        raise TypeError(f"expected a number or a fraction like '32/15', got {value!r}")
    try:
        return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    except ValueError:
        raise ValueError(f"expected a number or a fraction like '32/15', got {value!r}") from None


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected true or false, got {value!r}")


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


_FLOAT_TEXT = re.compile(
    r"[+-]?(?:(?:[0-9](?:_?[0-9])*)(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)"
    r"(?:[eE][+-]?[0-9](?:_?[0-9])*)?"
    r"|[+-]?(?:inf|infinity|nan)",
    re.IGNORECASE,
)
"""A number as Python's ``float()`` reads it, ASCII only: ``1e-3``, ``5E-4``, ``.5``, ``3.``,
``1_000``, ``inf``/``nan`` (then refused as not finite)."""


def _structure_float(value: Any, _: type) -> float:
    """A float field takes ints, floats and numeric text (YAML 1.1 reads ``1e-3`` as a string).

    Every config float must be finite: ``inf``/``nan`` are refused by name.
    """
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not (numeric or (isinstance(value, str) and _FLOAT_TEXT.fullmatch(value))):
        raise TypeError(f"expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _structure_learner(value: Any, _: type) -> Any:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a mapping with a 'kind' key, got {value!r}")
    kind = value.get("kind", "finetune")
    if kind not in LEARNER_CONFIGS:
        raise ValueError(f"unknown learner kind {kind!r}; choose one of {sorted(LEARNER_CONFIGS)}")
    _check_foreign_learner_keys(value, kind)
    return converter.structure(dict(value), LEARNER_CONFIGS[kind])


RENAMED_LEARNER_KEYS = {
    "fisher_decay": "renamed: ewc's fisher_new_weight is EWC++'s alpha, the weight of the *new* Fisher "
    "(fisher_new_weight = 1 - fisher_decay)",
}
"""Learner keys that were removed or renamed → the hint their ``unknown key`` error carries."""


def _check_foreign_learner_keys(value: Mapping[str, Any], kind: str) -> None:
    """Keys of other learners (left by a config file written for another ``learner.kind``) are
    ``unknown key`` errors that name the learners they belong to (with any other unknown keys);
    a renamed key's error says what replaced it."""
    fields = {name: {f.name for f in attrs.fields(cls)} for name, cls in LEARNER_CONFIGS.items()}
    unknown = {
        key: sorted(n for n, names in fields.items() if key in names)
        for key in value
        if key != "kind" and key not in fields[kind]
    }
    if not any(unknown.values()) and not set(unknown) & set(RENAMED_LEARNER_KEYS):
        return  # plain unknown keys: the converter's own error
    problems = []
    for key, owners in sorted(unknown.items()):
        why = f" for kind={kind} (a key of {'/'.join(owners)}; drop it, or choose one of those kinds)"
        renamed = f" ({RENAMED_LEARNER_KEYS[key]})" if key in RENAMED_LEARNER_KEYS else ""
        problem = ValueError("unknown key" + (why if owners else renamed))
        problem.__notes__ = [AttributeValidationNote(f"Structuring key {key}", key, None)]
        problems.append(problem)
    raise ClassValidationError(f"keys of other learners for kind={kind}", problems, LEARNER_CONFIGS[kind])


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(Fraction, _structure_fraction)
    conv.register_unstructure_hook(Fraction, lambda f: str(f) if f.denominator != 1 else int(f))
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(LearnerConfig, _structure_learner)
    for learner_config in LEARNER_CONFIGS.values():  # ``kind`` first (shared options are inherited)
        fields = conv.gen_unstructure_attrs_fromdict(learner_config)
        conv.register_unstructure_hook(learner_config, lambda c, f=fields: {"kind": c.kind, **f(c)})
    conv.register_structure_hook(UserIds, structure_user_ids)
    return conv


converter = _make_converter()
"""The one converter of ego_cl: strict, no extra keys, exact Fractions, tagged learner union."""


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into a raw dict.

    Raises:
        ConfigError: The file is missing, unreadable or not a mapping.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            text = fh.read(MAX_CHARS + 1)  # a longer file is refused without reading it all
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file ({exc.strerror})"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    try:
        raw = parse_toml(text) if path.suffix == ".toml" else parse_yaml(text)
    except ConfigTextError as exc:
        raise ConfigError([f"{path}: refused: {exc}"]) from None
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError([f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {first}"]) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: top level must be a mapping, got {type(raw).__name__}"])
    return raw


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides to a nested dict (returns a new dict).

    Values are parsed as YAML scalars or flow collections (``3``, ``0.1``, ``true``, ``null``,
    ``[a, b]``, ``32/15`` stays the string ``"32/15"``).

    Example:
        >>> apply_overrides({"a": {"b": 1}}, ["a.b=2", "a.c=[x, y]"])
        {'a': {'b': 2, 'c': ['x', 'y']}}
    """
    out = _deep_copy(raw)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError([f"override {item!r}: expected dotted.key=value"])
        if len(parts := key.split(".")) > MAX_DEPTH:
            raise ConfigError([f"override {key[:80]!r}...: nested deeper than {MAX_DEPTH} levels"])
        try:
            value = parse_yaml(text) if text.strip() else ""
        except ConfigTextError as exc:
            raise ConfigError([f"override {key}: refused: {exc}"]) from None
        except yaml.YAMLError:
            value = text
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return out


def _deep_copy(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in raw.items()}


def load_config(
    cls: type[T],
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    base: Mapping[str, Any] | None = None,
) -> T:
    """Load ``cls`` from an optional file plus dotted overrides, strictly.

    Args:
        cls: The attrs config class to build.
        path: YAML or TOML file; ``None`` = defaults only.
        overrides: ``a.b.c=value`` strings applied after the file.
        base: Raw values applied before the file (for programmatic defaults).

    Raises:
        ConfigError: One line per unknown key, bad type or invalid value, each naming the
            dotted path.
    """
    raw = _deep_copy(base or {})
    if path is not None:
        raw = _merge(raw, read_config_file(path))
    raw = apply_overrides(raw, overrides)
    return structure(raw, cls)


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(into)
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def structure(raw: Mapping[str, Any], cls: type[T]) -> T:
    """Structure a raw dict into ``cls`` with the strict converter, raising :class:`ConfigError`."""
    try:
        return converter.structure(raw, cls)
    except ClassValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError([str(exc)]) from None


def _describe(exc: BaseException, path: str = "") -> list[str]:
    """Flatten a cattrs exception group into ``dotted.path: problem`` lines."""
    if isinstance(exc, ForbiddenExtraKeysError):
        where = f"{path}." if path else ""
        return [f"{where}{key}: unknown key" for key in sorted(exc.extra_fields)]
    if isinstance(exc, ExceptionGroup):
        lines: list[str] = []
        for sub in exc.exceptions:
            note = next((n for n in getattr(sub, "__notes__", []) if hasattr(n, "name")), None)
            sub_path = f"{path}.{note.name}" if path and note else (note.name if note else path)
            lines.extend(_describe(sub, sub_path))
        return lines
    message = str(exc)
    named = re.match(r"^'(\w+)' (.*)$", message)
    if named:  # attrs validators name the field in quotes
        path, message = (f"{path}.{named[1]}" if path else named[1]), named[2]
    note = next((n for n in getattr(exc, "__notes__", []) if hasattr(n, "type")), None)
    tp = getattr(note, "type", None)
    if " not in literal " in message:
        message = f"got {message.split(' not in literal ')[0]!r}"
    if tp is not None and "expected" not in message and "choose one of" not in message:
        message = f"{message} (expected {_type_name(tp)})"
    return [f"{path or '<root>'}: {message}"]


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def config_differences(saved: Any, now: Any, prefix: str = "") -> list[str]:
    """``key: saved -> now`` for every dotted key whose value differs (missing keys included).

    Example:
        >>> config_differences({"optim": {"lr": 0.05, "epochs": 3}}, {"optim": {"lr": 0.1, "epochs": 3}})
        ['optim.lr: 0.05 -> 0.1']
    """
    if isinstance(saved, dict) and isinstance(now, dict):
        out = []
        for key in sorted(set(saved) | set(now), key=str):
            missing = "<unset>"
            out += config_differences(saved.get(key, missing), now.get(key, missing), f"{prefix}{key}.")
        return out
    return [] if saved == now else [f"{prefix.rstrip('.')}: {saved!r} -> {now!r}".replace("'", "")]


def dump_yaml(obj: Any) -> str:
    """The resolved config as YAML text (round-trips through :func:`load_config`)."""
    return yaml.safe_dump(_plain(converter.unstructure(obj)), sort_keys=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
