"""`make bench` puts its table at the top of bench/results.md and keeps the dated records below it."""

from tests.bench import run

RECORDS = """### bench_throughput · 2026-12-07T17:48 UTC

| 轮 | 组合 个/秒 |
| --- | --- |
| 1 | 223 |

### 部署配方 · 2026-12-07T19:05 UTC

经 nginx 的部署。
"""


def table(day: str) -> str:
    return run.table({"started_at": day, "machine": {"postgresql": "15", "cpus": 2, "python": "3.11"}, "benchmarks": {
        "bench_county": {"figures": [{"figure": "列表 p95", "value": 31.0, "unit": "ms", "goal": "< 100 ms", "met": True}]},
    }})


def test_a_run_replaces_the_table_and_keeps_every_dated_record(tmp_path):
    results = tmp_path / "results.md"
    results.write_text(table("2026-11-28") + "\n旧表下的一行说明\n\n" + RECORDS, encoding="utf-8")
    run.write_table(table("2026-12-07"), results)
    text = results.read_text(encoding="utf-8")
    assert text.startswith(table("2026-12-07"))
    assert "2026-11-28" not in text and "旧表下的一行说明" not in text
    assert text.endswith(RECORDS)
    run.write_table(table("2026-12-08"), results)  # again: still one table, the same records
    assert results.read_text(encoding="utf-8") == table("2026-12-08") + "\n\n" + RECORDS


def test_the_first_run_writes_the_table_alone(tmp_path):
    results = tmp_path / "results.md"
    run.write_table(table("2026-12-07"), results)
    assert results.read_text(encoding="utf-8") == table("2026-12-07")
    results.write_text(RECORDS, encoding="utf-8")  # records without a table yet
    run.write_table(table("2026-12-07"), results)
    assert results.read_text(encoding="utf-8") == table("2026-12-07") + "\n\n" + RECORDS
