"""Fonts of Word (.docx) runs: the one place that names a font for both Latin and East Asian text."""

from __future__ import annotations


def set_font(run, *, family: str, size: float | None = None, bold: bool = False):
    """Give `run` the font `family` (Latin and East Asian alike, or Word falls back to its own CJK
    font), `size` in points when given, and boldness; returns the run."""
    # Deferred: python-docx is loaded only where a Word file is written
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = family
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), family)
    if size:
        run.font.size = Pt(size)
    run.bold = bold
    return run


def add_run(paragraph, text: str, *, family: str, size: float | None = None, bold: bool = False):
    """A new run of `text` at the end of `paragraph`, in that font."""
    return set_font(paragraph.add_run(text), family=family, size=size, bold=bold)
