# Every target sets itself up (scripts/setup.sh is idempotent and quick when nothing changed).
# The embedded targets (run, test) unset DATABASE_URL and REDIS_URL: SQLite, eager Celery,
# local-memory cache, whatever the shell exports. .ci/run adds the PostgreSQL + Redis pass.

PORT ?= 8000
ARGS ?=
PYTEST_WORKERS ?= 2
VENV := .venv
PY := $(VENV)/bin/python
EMBEDDED := env -u DATABASE_URL -u REDIS_URL
BENCH_FILES := $(wildcard tests/bench/bench_*.py)

.DEFAULT_GOAL := help
.PHONY: help setup run test lint bench clean

help:
	@echo "make run     迁移数据库、载入演示数据，启动开发服务器 http://127.0.0.1:$(PORT)/ (PORT=...)"
	@echo "make test    检查迁移是否齐全，运行测试（SQLite，任务同步执行；ARGS=... 传给 pytest）"
	@echo "make lint    ruff check ."
	@echo "make bench   在 PostgreSQL + Redis 上运行 tests/bench/bench_*.py 基准测试（DATABASE_URL=postgres://… REDIS_URL=redis://…）"
	@echo "make setup   创建 .venv、安装依赖与系统软件包（其他目标会自动执行）"
	@echo "make clean   删除 .venv 与缓存（保留 var/ 中的数据库与上传文件）"

setup:
	@bash scripts/setup.sh

run: setup
	$(EMBEDDED) DEBUG=1 $(PY) manage.py migrate --noinput
	$(EMBEDDED) DEBUG=1 $(PY) manage.py load_demo --history
# The periodic work of Celery beat (督办, overdue items and letters, reminders) runs beside the server.
	$(EMBEDDED) DEBUG=1 $(PY) manage.py run_periodic & periodic=$$!; trap 'kill $$periodic' EXIT INT TERM; \
	$(EMBEDDED) DEBUG=1 EMBEDDED_WORKER=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: setup
	$(EMBEDDED) DEBUG=1 $(PY) manage.py makemigrations --check --dry-run --noinput
	$(EMBEDDED) $(PY) -m pytest -n $(PYTEST_WORKERS) $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .

# PostgreSQL + Redis only (tests/bench/run.py refuses otherwise and says how to set them); each benchmark
# makes and drops its own database; figures go to bench/results.json and bench/results.md.
bench: setup
ifeq ($(BENCH_FILES),)
	@echo "还没有基准测试（tests/bench/bench_*.py）/ no benchmarks yet"
else
	$(PY) tests/bench/run.py $(ARGS)
endif

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache var/static var/ci-*
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
