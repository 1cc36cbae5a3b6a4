"""zh-hans formats, with ISO dates first among the input formats.

Form widgets render a value with the first input format. Django's zh_Hans puts "%Y/%m/%d" first,
which an <input type="date"> cannot show (browsers drop any value that is not YYYY-MM-DD), so
every date field with a default or a submitted value rendered empty. Dates shown as text keep
Django's Chinese formats (2026年11月27日).
"""

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
