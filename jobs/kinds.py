"""Which function does the work of each kind of job."""

from __future__ import annotations

from .models import Job
from .runner import Handler


def handler_for(kind: str) -> Handler:
    from . import documents, exports, imports

    handlers: dict[str, Handler] = {
        Job.Kind.RECTIFICATION_IMPORT: imports.run_rectification_import,
        Job.Kind.PATROL_CATALOG_IMPORT: imports.run_patrol_import,
        Job.Kind.PATROL_REPORTS_IMPORT: imports.run_patrol_import,
        Job.Kind.PATROL_FINDINGS_IMPORT: imports.run_patrol_import,
        Job.Kind.CIRCULAR_BATCH: documents.run_circular_batch,
        Job.Kind.NOTICE_BATCH: documents.run_notice_batch,
        Job.Kind.EVENT_EXPORT: exports.run_event_export,
        Job.Kind.VILLAGE_LEDGER_EXPORT: exports.run_village_ledger_export,
        Job.Kind.DEPARTMENT_BOOK_EXPORT: exports.run_department_book_export,
    }
    return handlers[kind]
