"""Numbers as people type them (issue 18.1): every Python float spelling parses for float fields,
on the command line and in YAML/TOML files; text that is no number, and non-finite values, do not."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ego_cl.runners.config import ConfigError, StreamRunConfig, load_config

positive = st.floats(min_value=1e-12, max_value=1e12, allow_nan=False, allow_infinity=False)


def _spellings(x: float) -> list[str]:
    return [repr(x), f"{x:e}", f"{x:E}", f"{x:.3e}".upper(), f"{x:g}", str(x)]


def _lr(override: str) -> float:
    return load_config(StreamRunConfig, overrides=[f"learner.lr={override}"]).learner.lr


@settings(max_examples=60, deadline=None)
@given(positive)
def test_every_float_spelling_parses_as_an_override(x):
    for text in _spellings(x):
        assert _lr(text) == float(text), text


@settings(max_examples=30, deadline=None)
@given(positive)
def test_every_float_spelling_parses_in_yaml_and_toml(tmp_path_factory, x):
    tmp = tmp_path_factory.mktemp("cfg")
    for i, text in enumerate(_spellings(x)):
        yml, toml = tmp / f"{i}.yaml", tmp / f"{i}.toml"
        yml.write_text(f"learner:\n  lr: {text}\n")
        assert load_config(StreamRunConfig, yml).learner.lr == float(text), text
        toml_text = text if "e" in text.lower() or "." in text else f"{text}.0"  # TOML floats need . or e
        toml.write_text(f"[learner]\nlr = {toml_text}\n")
        assert load_config(StreamRunConfig, toml).learner.lr == float(text), toml_text


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=10**9))
def test_integers_are_accepted_for_float_fields(n):
    assert _lr(str(n)) == float(n)
    assert _lr(f"{n:_}") == float(n)  # 1_000: Python's digit grouping


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-3", 1e-3), ("5e-4", 5e-4), ("3e4", 3e4), ("1E-3", 1e-3), (".5", 0.5), ("3.", 3.0), ("+2e-2", 0.02)],
)
def test_the_issue_spellings(text, value):
    assert _lr(text) == value


def test_yaml_1_1_exponent_without_dot_in_a_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("learner:\n  kind: ewc\n  lr: 1e-3\n  ewc_lambda: 5E2\n")
    cfg = load_config(StreamRunConfig, path)
    assert (cfg.learner.lr, cfg.learner.ewc_lambda) == (1e-3, 500.0)


@pytest.mark.parametrize("text", ["abc", "1e", "e3", "1.2.3", "'1__0'", "_1", "0x1p3", "١٢", "'1 '", "''"])
def test_text_that_is_no_number_is_refused(text):
    with pytest.raises(ConfigError, match=r"learner\.lr: expected a number"):
        _lr(text)


@pytest.mark.parametrize("text", ["inf", "-inf", ".inf", "nan", "Infinity", "1e999"])
def test_non_finite_values_are_refused_by_name(text):
    with pytest.raises(ConfigError, match=r"learner\.momentum: expected a finite number"):
        load_config(StreamRunConfig, overrides=[f"learner.momentum={text}"])


def test_float_text_keeps_optional_fields_optional():
    assert load_config(StreamRunConfig, overrides=["learner.head_lr=1e-2"]).learner.head_lr == 0.01
    assert load_config(StreamRunConfig, overrides=["learner.head_lr=null"]).learner.head_lr is None
    assert math.isclose(
        load_config(StreamRunConfig, overrides=["run.time_budget_s=2.5e-1"]).run.time_budget_s, 0.25
    )


def test_integer_fields_stay_strict():
    with pytest.raises(ConfigError, match=r"run\.seed: expected an integer"):
        load_config(StreamRunConfig, overrides=["run.seed=1e3"])
