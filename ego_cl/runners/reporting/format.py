"""Rendering report tables as Markdown, CSV and LaTeX (booktabs) text. Pure string functions."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence

import attrs

from ego_cl.metrics.aggregation import UserAggregate

__all__ = ["Table", "latex_document", "mean_se_cell", "render_csv", "render_latex", "render_markdown"]


@attrs.frozen(kw_only=True)
class Table:
    """One report table.

    Attributes:
        title: Caption (one line).
        header: Column names.
        rows: Cell strings, one tuple per row (same length as ``header``).
        best_row: Row to mark as the best setting (``None``: no mark).
        note: A line printed under the table (units, definitions).
    """

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    best_row: int | None = None
    note: str = ""


def mean_se_cell(agg: UserAggregate | None, *, digits: int = 2, signed: bool = False) -> str:
    """``"mean ± SE"`` (``"n/a"`` for a missing or nan mean; no SE for a single user).

    Example:
        >>> mean_se_cell(UserAggregate(mean=1.234, se=0.5, n_users=3), signed=True)
        '+1.23 ± 0.50'
        >>> mean_se_cell(UserAggregate(mean=2.0, se=float("nan"), n_users=1))
        '2.00'
    """
    if agg is None or not math.isfinite(agg.mean):
        return "n/a"
    mean = f"{agg.mean:+.{digits}f}" if signed else f"{agg.mean:.{digits}f}"
    return mean if not math.isfinite(agg.se) else f"{mean} ± {agg.se:.{digits}f}"


def number_cell(value: float | None, *, digits: int = 2, signed: bool = False) -> str:
    """One number as a cell (``"n/a"`` when missing or not finite).

    Example:
        >>> number_cell(3.14159), number_cell(-1.0, signed=True), number_cell(float("nan"))
        ('3.14', '-1.00', 'n/a')
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _marked(table: Table) -> list[list[str]]:
    rows = [list(r) for r in table.rows]
    if table.best_row is not None:
        rows[table.best_row][0] = f"**{rows[table.best_row][0]}** (best)"
    return rows


def render_markdown(table: Table) -> str:
    """The table as GitHub Markdown under a ``###`` title.

    Example:
        >>> print(render_markdown(Table(title="T", header=("a", "b"), rows=(("x", "1"),))))
        ### T
        <BLANKLINE>
        | a | b |
        | --- | --- |
        | x | 1 |
        <BLANKLINE>
    """
    lines = [f"### {table.title}", "", "| " + " | ".join(table.header) + " |"]
    lines.append("| " + " | ".join("---" for _ in table.header) + " |")
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in _marked(table)]
    if table.note:
        lines += ["", table.note]
    return "\n".join(lines) + "\n"


def render_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows as CSV text (``nan`` written as an empty cell).

    Example:
        >>> render_csv(["a", "b"], [[1, float("nan")]]).splitlines()
        ['a,b', '1,']
    """
    sink = io.StringIO()
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if isinstance(v, float) and math.isnan(v) else v for v in row])
    return sink.getvalue()


_TEX_ESCAPES = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}"}


def tex_escape(text: str) -> str:
    r"""Escape LaTeX specials; ``±`` becomes ``$\pm$``.

    Example:
        >>> tex_escape("lr=0.1_a & 2 ± 1")
        'lr=0.1\\_a \\& 2 $\\pm$ 1'
    """
    out = "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)
    return out.replace("±", r"$\pm$").replace("~", r"\textasciitilde{}")


def render_latex(table: Table) -> str:
    """The table as a booktabs ``table`` environment (first column left-aligned)."""
    spec = "l" + "r" * (len(table.header) - 1)
    lines = [
        r"\begin{table}[t]",
        r"  \centering",
        f"  \\caption{{{tex_escape(table.title)}}}",
        f"  \\begin{{tabular}}{{{spec}}}",
        r"    \toprule",
        "    " + " & ".join(tex_escape(h) for h in table.header) + r" \\",
        r"    \midrule",
    ]
    for i, row in enumerate(table.rows):
        cells = [tex_escape(c) for c in row]
        if i == table.best_row:
            cells = [f"\\textbf{{{c}}}" for c in cells]
        lines.append("    " + " & ".join(cells) + r" \\")
    lines += [r"    \bottomrule", r"  \end{tabular}"]
    if table.note:
        lines.append(f"  \\par\\smallskip{{\\footnotesize {tex_escape(table.note)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def latex_document(tables: Sequence[Table]) -> str:
    """All tables, each a ``table`` float; needs ``\\usepackage{booktabs}`` in the preamble."""
    head = "% ego_cl report tables; requires \\usepackage{booktabs}\n"
    return head + "\n".join(render_latex(t) for t in tables)
