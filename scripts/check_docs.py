#!/usr/bin/env python
"""Check what README.md and docs/ name: every `manage.py <command>` exists with the --options written after
it, every site path (`/grid/events/`, curl http://127.0.0.1:8000/...) resolves, every relative link leads
to a file; with --demo, also run the documented commands on a fresh demo county (slow: not in CI).
Prints one line per problem; exits non-zero when there is one."""

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import django
from django.core.management import get_commands, load_command_class
from django.urls import Resolver404, URLResolver, get_resolver, resolve

ROOT = Path(__file__).resolve().parent.parent

MANAGE = re.compile(r"manage\.py\s+([a-z0-9_]+)([^\n`|]*)")
FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LOCAL_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost)(?::\d+)?(/[^\s'\"`)]*)")
PLACEHOLDER = re.compile(r"<[^<>/]+>")
SHELL_VARIABLE = re.compile(r"\$\{?\w+\}?")  # `events/$E/handle/` in a curl example: a number too
# A table row of docs/api.md: "| `GET events/<编号>/` | ..." names paths relative to the REST root.
API_ROW = re.compile(r"`(?:GET|POST|PUT|PATCH|DELETE) ([a-z0-9_][^`?]*)")
API_ROOT = "/api/v1/"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def documents(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def _settings_module(root: Path) -> str:
    match = re.search(r"DJANGO_SETTINGS_MODULE\",\s*\"([\w.]+)\"", (root / "manage.py").read_text(encoding="utf-8"))
    return match.group(1) if match else "config.settings"


def _joined_lines(text: str) -> str:
    """Shell continuation lines joined, so that a command's options spread over lines stay with it."""
    return re.sub(r"\\\n\s*", " ", text)


def manage_commands(text: str) -> list[tuple[str, list[str]]]:
    """(command, its --options) for every `manage.py <command>` in the text."""
    found = []
    for match in MANAGE.finditer(_joined_lines(text)):
        rest = match.group(2).split("#", 1)[0]
        try:
            words = shlex.split(rest)
        except ValueError:
            words = rest.split()
        options = []
        for word in words:
            if word in {"|", "&&", ";", ">", "2>&1"}:
                break
            if word.startswith("--"):
                options.append(word.split("=", 1)[0])
        found.append((match.group(1), options))
    return found


def _normalise(path: str) -> str | None:
    """A concrete path to resolve: placeholders become 1, no query or fragment; None when the text is
    an elision (`/api/v1/…`) rather than a path."""
    path = path.split("?", 1)[0].split("#", 1)[0].rstrip(".,;:，。；：、）)")
    if "…" in path or "..." in path or not path.startswith("/"):
        return None
    return SHELL_VARIABLE.sub("1", PLACEHOLDER.sub("1", path))


def url_paths(text: str, *, api_table: bool = False) -> list[str]:
    """Candidate site paths: code spans and code blocks that start with "/", local curl URLs, and (in the
    API manual) the relative paths of its method tables."""
    candidates = []
    for span in INLINE_CODE.findall(text):
        for piece in re.split(r"[\s、，]+", span):
            if piece.startswith("/"):
                candidates.append(piece)
    candidates += LOCAL_URL.findall(text)
    if api_table:
        for line in text.splitlines():
            if line.startswith("| `"):
                for relative in API_ROW.findall(line):
                    candidates.append(API_ROOT + relative.strip())
    paths = []
    for candidate in candidates:
        path = _normalise(candidate)
        if path and path not in paths:
            paths.append(path)
    return paths


def _include_prefixes(resolver, prefix: str = "/"):
    """The path prefix of every included URLconf (plain routes only)."""
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            route = str(pattern.pattern).lstrip("^")
            if "<" in route or "(" in route:
                continue
            yield prefix + route
            yield from _include_prefixes(pattern, prefix + route)


def check(root: Path = ROOT) -> list[str]:
    """Problems found, as "file: message" lines (empty when all is well). Django must be set up."""
    commands = get_commands()
    prefixes = set(_include_prefixes(get_resolver()))
    top_segments = {prefix.strip("/").split("/", 1)[0] for prefix in prefixes}
    top_segments |= {str(p.pattern).lstrip("^").split("/", 1)[0].rstrip("$") for p in get_resolver().url_patterns}
    problems = []
    for document in documents(root):
        name = document.relative_to(root)
        text = document.read_text(encoding="utf-8")
        code = "\n".join(FENCE.findall(text)) + "\n" + "\n".join(INLINE_CODE.findall(text))
        for command, options in manage_commands(code):
            if command not in commands:
                problems.append(f"{name}: 没有管理命令 manage.py {command}")
                continue
            app = commands[command]
            parser = load_command_class(app, command).create_parser("manage.py", command)
            known = set(parser._option_string_actions)
            for option in options:
                if option not in known:
                    problems.append(f"{name}: manage.py {command} 没有选项 {option}")
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            if not (document.parent / target.split("#", 1)[0]).exists():
                problems.append(f"{name}: 链接 {target} 指向的文件不存在")
        for path in url_paths(text, api_table=name.name == "api.md"):
            first = path.lstrip("/").split("/", 1)[0]
            if first not in top_segments and not path.startswith(API_ROOT):
                continue  # a file system path (/usr/bin/chromium, /srv/backup/...), not a site URL
            try:
                resolve(path)
            except Resolver404:
                if path.endswith("/") and any(prefix.startswith(path) for prefix in prefixes):
                    continue  # a prefix of an included URLconf, named as such (`/api/v1/`, `/open311/`)
                problems.append(f"{name}: 网址 {path} 在本系统中不存在")
    return problems


# --- optional: run the documented commands on a fresh demo county ---------------------------------------

SHELL_FENCE = re.compile(r"^[ \t]*```(?:bash|sh|shell)\n(.*?)^[ \t]*```", re.S | re.M)
DATA_FENCE = re.compile(r"^[ \t]*```(csv|json)\n(.*?)^[ \t]*```", re.S | re.M)
FILE_NAME = re.compile(r"`([^`/\s]+\.(?:csv|xlsx|geojson|json))`")
INPUT_FILE = re.compile(r".+\.(?:csv|xlsx|geojson|json)$")
# Commands that set up or replace a whole installation: documented for operators, not run here.
NOT_ON_DEMO = {"migrate", "collectstatic", "check", "restore", "runserver", "shell"}


def _data_files(text: str) -> dict[str, str]:
    """The csv/json blocks that the text names a file for (the last `name.csv` written before them)."""
    files = {}
    for match in DATA_FENCE.finditer(text):
        named = FILE_NAME.findall(text[max(0, match.start() - 300): match.start()])
        if named:
            files[named[-1]] = match.group(2)
    return files


def run_on_demo(root: Path = ROOT) -> list[str]:
    """Load the demo county into a new SQLite database and run every `manage.py` line of the shell
    blocks whose input files the docs give, in the order written; a non-zero exit is a problem."""
    work = Path(tempfile.mkdtemp(prefix="check_docs_"))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    (work / "var").mkdir()
    env.update(VAR_DIR=str(work / "var"), DEBUG="1", MEDIA_ROOT=str(work / "media"))
    manage = [sys.executable, str(root / "manage.py")]

    def run(args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(manage + args, cwd=work, env=env, capture_output=True, text=True, timeout=600)

    for setup in (["migrate", "--noinput"], ["load_demo"]):
        done = run(setup)
        if done.returncode:
            return [f"演示县载入失败（{' '.join(setup)}）：{done.stderr.strip()[-500:]}"]
    problems, ran = [], []
    for document in documents(root):
        text = document.read_text(encoding="utf-8")
        for name, content in _data_files(text).items():
            (work / name).write_text(content, encoding="utf-8")
        for block in SHELL_FENCE.findall(text):
            for match in MANAGE.finditer(_joined_lines(block)):
                command, rest = match.group(1), match.group(2).split(" #", 1)[0]
                if command in NOT_ON_DEMO:
                    continue
                args = [command] + [str(work / word.lstrip("/")) if word.startswith("/srv/") else word
                                    for word in shlex.split(rest)]
                inputs = [word for before, word in zip(args, args[1:], strict=False)
                          if INPUT_FILE.match(word) and before != "--out"]
                if any(not (work / word).exists() for word in inputs):
                    continue  # an example of the user's own file
                done = run(args)
                ran.append(f"{document.relative_to(root)}: manage.py {shlex.join(args)}")
                if done.returncode:
                    problems.append(f"{document.relative_to(root)}: manage.py {' '.join(args[:1] + args[1:])} "
                                    f"在演示县上失败：{(done.stderr or done.stdout).strip()[-300:]}")
    print("\n".join(ran))
    print(f"在演示县上运行了 {len(ran)} 条命令（目录 {work}）。")
    return problems


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", _settings_module(ROOT))
    os.environ.setdefault("DEBUG", "1")
    django.setup()
    problems = check(ROOT)
    if "--demo" in sys.argv[1:]:
        problems += run_on_demo(ROOT)
    for problem in problems:
        print(problem)
    print(f"文档检查：{len(documents(ROOT))} 个文件，{len(problems)} 个问题。")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
