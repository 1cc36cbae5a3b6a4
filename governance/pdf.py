"""HTML to PDF with WeasyPrint, for every document of the project (circulars, notices, letters, reports).
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

_local = threading.local()


def _font_config():
    """This thread's font configuration, kept between documents: the Noto CJK faces that Pango opened for
    one document stay open for the next (a new configuration per document opens them again)."""
    config = getattr(_local, "font_config", None)
    if config is None:
        # Deferred: loading WeasyPrint costs about half a second of CPU; only PDF output needs it
        from weasyprint.text.fonts import FontConfiguration

        config = _local.font_config = FontConfiguration()
    return config


def warm_up() -> None:
    """Load WeasyPrint and open the fonts' configuration now (a Celery worker process at start), so that the
    first document a user asks for does not pay for it."""
    _font_config()


def html_to_pdf(html: str, *, laid_out: Callable[[int], None] | None = None) -> bytes:
    """A PDF of a standalone HTML page (its own <meta charset> and styles), fonts embedded as subsets
    (never full_fonts). `laid_out(pages)` is called between layout and writing, for a job's progress."""
    # WeasyPrint logs each step (even parsing its own stylesheets on import) at INFO: a command's output
    # and the test logs need none of it.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    # Deferred: see _font_config
    from weasyprint import HTML

    font_config = _font_config()
    document = HTML(string=html).render(font_config=font_config)
    if laid_out is not None:
        laid_out(len(document.pages))
    return document.write_pdf()
