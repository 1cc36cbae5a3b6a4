"""Word runs carry one font for Latin and Chinese text alike, so Word does not swap in its own CJK font."""

import io

from docx import Document
from docx.oxml.ns import qn

from governance.docx_fonts import add_run, set_font


def _reopened(document):
    buffer = io.BytesIO()
    document.save(buffer)
    return Document(io.BytesIO(buffer.getvalue()))


def test_a_run_names_its_font_for_east_asian_text_too():
    document = Document()
    add_run(document.add_paragraph(), "整改进展 2026", family="仿宋_GB2312", size=16, bold=True)
    set_font(document.add_paragraph().add_run("附件"), family="黑体")

    first, second = (paragraph.runs[0] for paragraph in _reopened(document).paragraphs)
    assert first.font.name == "仿宋_GB2312"
    assert first._element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert first.font.size.pt == 16 and first.bold
    assert second._element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert second.font.size is None and not second.bold
