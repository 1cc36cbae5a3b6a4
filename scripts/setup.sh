#!/usr/bin/env bash
# Idempotent set-up for `make run`, `make test`, `make lint`, `make bench` and .ci/run:
#   1. .venv with python3 (recreated if missing or broken);
#   2. `pip install -e '.[dev]'` only when pyproject.toml changed since the last install;
#   3. system packages the PDF code and its tests need (Chinese fonts, poppler), installed with
#      apt-get when we are root, otherwise named in a message (never fatal);
#   4. var/ for the SQLite database, media and logs;
#   5. bpmnlint (pinned) from the npm registry into var/node, for the BPMN export test; skipped with a
#      message when npm is missing (the test then skips).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
STAMP="$VENV/.pyproject.sha256"

# 1. The virtualenv.
if ! "$VENV/bin/python" -c "import sys" >/dev/null 2>&1; then
    echo "==> 创建虚拟环境 / creating virtualenv $VENV ($PYTHON)"
    "$PYTHON" -m venv --clear "$VENV"
fi

# 2. Python packages, only when pyproject.toml changed (content hash, not mtime: a fresh clone's
#    mtimes say nothing).
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    echo "==> 安装 Python 依赖 / installing Python dependencies (pip install -e '.[dev]')"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
    echo "$want" >"$STAMP"
fi

# 3. System packages: "check command" and Debian package.
missing=()
# (grep reads all of fc-list's output: `grep -q` would quit early and, under pipefail, fail the pipe.)
if ! { command -v fc-list >/dev/null && fc-list | grep -i 'Noto.*CJK' >/dev/null; }; then
    missing+=(fonts-noto-cjk)
    command -v fc-list >/dev/null || missing+=(fontconfig)
fi
if ! { command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null; }; then
    missing+=(poppler-utils)
fi
# Debian's Chromium drives the browser tests (tests/e2e, Playwright) and scripts/screenshot.py.
if ! command -v chromium >/dev/null; then
    missing+=(chromium)
fi
# Its zh-CN strings, so that screenshots show date and file pickers as a Chinese user sees them.
if [ ! -f /usr/lib/chromium/locales/zh-CN.pak ]; then
    missing+=(chromium-l10n)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "==> 安装系统软件包 / installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        if ! { apt-get update -qq >/dev/null &&
            apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
            echo "!! 系统软件包安装失败：${missing[*]}。PDF 中文字体、PDF 测试与浏览器测试可能失败。" >&2
            echo "!! Could not install system packages: ${missing[*]}; Chinese PDFs and PDF tests may fail." >&2
        fi
    else
        echo "!! 缺少系统软件包：${missing[*]}（中文字体 fonts-noto-cjk / PDF 工具 poppler-utils / 浏览器测试 chromium）。" >&2
        echo "!!   请以 root 运行：apt-get install ${missing[*]}" >&2
        echo "!! Missing system packages: ${missing[*]}. As root: apt-get install ${missing[*]}" >&2
        echo "!!   Without them Chinese in PDFs renders as boxes, PDF and browser tests fail. Continuing." >&2
    fi
fi

# 4. Runtime directories (gitignored).
mkdir -p var

# 5. bpmnlint for tests/workflows/test_flow_chart.py (BPMN export checked by bpmnlint's recommended
#    rules). Pinned: 12.x needs @bpmn-io/lint-core, which the registry does not serve.
BPMNLINT_VERSION="11.15.0"
NODE_DIR="var/node"
if [ "$(cat "$NODE_DIR/.bpmnlint-version" 2>/dev/null || true)" != "$BPMNLINT_VERSION" ] ||
    [ ! -x "$NODE_DIR/node_modules/.bin/bpmnlint" ]; then
    if command -v npm >/dev/null && command -v node >/dev/null; then
        echo "==> 安装 bpmnlint@$BPMNLINT_VERSION / installing bpmnlint@$BPMNLINT_VERSION into $NODE_DIR"
        mkdir -p "$NODE_DIR"
        if npm install --prefix "$NODE_DIR" --no-audit --no-fund --no-save --loglevel=error \
            "bpmnlint@$BPMNLINT_VERSION" >/dev/null; then
            echo "$BPMNLINT_VERSION" >"$NODE_DIR/.bpmnlint-version"
        else
            echo "!! bpmnlint 安装失败（npm install bpmnlint@$BPMNLINT_VERSION）；BPMN 导出的 bpmnlint 检查将跳过。" >&2
            echo "!! Could not install bpmnlint@$BPMNLINT_VERSION; the bpmnlint test will be skipped." >&2
        fi
    else
        echo "!! 未找到 npm/node：BPMN 导出的 bpmnlint 检查将跳过。安装 Node.js（如 apt-get install npm）后重新运行本脚本。" >&2
        echo "!! npm/node not found: the bpmnlint test will be skipped. Install Node.js (apt-get install npm) and re-run." >&2
    fi
fi
