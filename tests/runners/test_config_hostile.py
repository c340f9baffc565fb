"""Hostile config files and overrides (issue 19.9): exponential YAML aliases, recursive aliases,
nesting thousands deep (YAML, TOML, dotted keys), huge and binary files — each one line, fast."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ego_cl.runners.config import ConfigError, StreamRunConfig, load_config, read_config_file
from ego_cl.runners.config_text import (
    MAX_CHARS,
    MAX_DEPTH,
    MAX_NODES,
    ConfigTextError,
    parse_toml,
    parse_yaml,
)


def billion_laughs(levels: int, fan_out: int = 10) -> str:
    """``levels`` anchors, each a list of ``fan_out`` aliases of the previous one."""
    lines = ["l0: &l0 [lol]"]
    for k in range(1, levels + 1):
        lines.append(f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * fan_out)}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_quickly(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs(9))  # 10**9 values once expanded
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        load_config(StreamRunConfig, path)
    assert time.perf_counter() - started < 2
    [line] = info.value.lines()
    assert str(path) in line
    assert f"more than {MAX_NODES} values" in line


@given(st.integers(1, 4), st.integers(1, 6))
@settings(max_examples=30, deadline=None)
def test_small_alias_expansions_load_and_large_ones_are_refused(levels, fan_out):
    text = billion_laughs(levels, fan_out)
    expanded = sum(fan_out**k for k in range(levels + 1))  # values under the last anchor, roughly
    if expanded * 3 < MAX_NODES:
        data = parse_yaml(text)
        assert data["l1"] == [["lol"]] * fan_out if levels >= 1 else True
    big = billion_laughs(12, 8)
    with pytest.raises(ConfigTextError, match="values"):
        parse_yaml(big)


def test_aliases_within_the_bound_load_as_plain_yaml():
    assert parse_yaml("base: &b {lr: 0.1}\nrun: *b\n") == {"base": {"lr": 0.1}, "run": {"lr": 0.1}}


def test_recursive_alias_is_refused():
    with pytest.raises(ConfigTextError, match="recursive"):
        parse_yaml("a: &a [1, *a]\n")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000])
def test_deep_yaml_is_one_line_not_a_recursion_error(tmp_path, depth):
    path = tmp_path / "deep.yaml"
    path.write_text("run: " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(ConfigError, match="nested deeper than"):
        read_config_file(path)
    block = min(depth, 1500)  # block style: indentation grows quadratically
    path.write_text("".join(f"{' ' * k}k{k}:\n" for k in range(block)) + " " * block + "k: 1\n")
    with pytest.raises(ConfigError, match="nested deeper than"):
        read_config_file(path)


def test_deep_through_aliases_is_refused():
    lines = ["a0: &a0 " + "[" * 40 + "]" * 40]
    lines += [f"a{k}: &a{k} " + "[" * 30 + f"*a{k - 1}" + "]" * 30 for k in range(1, 40)]
    with pytest.raises(ConfigTextError, match="nested deeper"):
        parse_yaml("\n".join(lines))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000])
def test_deep_toml_is_one_line(tmp_path, depth):
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(ConfigError, match="nested deeper than"):
        read_config_file(path)
    path.write_text("[" + ".".join(["k"] * depth) + "]\nx = 1\n")  # dotted tables: no recursion in tomllib
    with pytest.raises(ConfigError, match="nested deeper than"):
        read_config_file(path)


def test_nesting_up_to_the_bound_is_fine():
    assert parse_toml("a = " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2))["a"]
    assert parse_yaml("a: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2))["a"]


def test_hostile_overrides_are_one_line():
    with pytest.raises(ConfigError, match="nested deeper"):
        load_config(StreamRunConfig, overrides=["run.seed=" + "[" * 3000 + "]" * 3000])
    with pytest.raises(ConfigError, match="nested deeper"):
        load_config(StreamRunConfig, overrides=[".".join(["k"] * 3000) + "=1"])
    with pytest.raises(ConfigError, match="values"):
        load_config(StreamRunConfig, overrides=["run.seed=" + flow_laughs(9)])


def flow_laughs(levels: int) -> str:
    """The billion laughs as one flow sequence (what fits in a ``key=value`` override)."""
    items = ["&a0 [lol]"] + [f"&a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, levels + 1)]
    return "[" + ", ".join(items) + "]"


def test_huge_and_binary_files_are_one_line(tmp_path):
    huge = tmp_path / "huge.yaml"
    huge.write_text("# " + "x" * (MAX_CHARS + 10) + "\n")
    with pytest.raises(ConfigError, match="longer than"):
        read_config_file(huge)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_config_file(binary)


@pytest.mark.integration
def test_cli_billion_laughs_and_deep_toml_exit_2_with_one_line(tmp_path):
    laughs = tmp_path / "laughs.yaml"
    laughs.write_text(billion_laughs(9))
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    for path in (laughs, deep):
        out = subprocess.run(
            [sys.executable, "-m", "ego_cl.runners.stream", "--config", str(path), "--print-config"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 2, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "Traceback" not in out.stderr


@pytest.mark.parametrize("opener", ["[", "{", "- "])
def test_a_megabyte_of_nesting_is_refused_in_linear_time(opener):
    # PyYAML's scanner does work per token that grows with the flow depth: the bound must hold
    # while scanning, not after (a million brackets would otherwise take hours)
    text = "a: " + opener * (1_000_000 // len(opener)) if opener != "- " else "- " * 500_000 + "x"
    started = time.perf_counter()
    with pytest.raises(ConfigTextError, match="nested deeper than"):
        parse_yaml(text)
    assert time.perf_counter() - started < 5
