"""zh-hans formats, with ISO dates first among the input formats.
Design notes: docs/architecture/governance.md."""

DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # '2026-11-27' (what <input type="date"> sends and shows)
    "%Y/%m/%d",  # '2026/11/27'
    "%Y年%m月%d日",  # '2026年11月27日'
]

DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",  # <input type="datetime-local">
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
]
