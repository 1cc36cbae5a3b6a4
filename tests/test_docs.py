"""README.md and docs/ name only management commands, options, site URLs and files that exist."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _check_docs():
    spec = importlib.util.spec_from_file_location("check_docs", ROOT / "scripts" / "check_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_command_option_url_and_link_in_the_docs_exists():
    assert _check_docs().check(ROOT) == []


def test_a_missing_command_option_url_or_linked_file_is_reported(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("打开 `/grid/events/` 与 `/grid/no-such-page/`，见 [x](docs/x.md)、[y](docs/y.md)。\n",
                                        encoding="utf-8")
    (tmp_path / "docs" / "x.md").write_text(
        "```bash\npython manage.py load_demo --histroy\npython manage.py no_such_command\n"
        "curl http://127.0.0.1:8000/api/v1/events/12/handle/\n```\n", encoding="utf-8")
    problems = _check_docs().check(tmp_path)
    assert problems == [
        "README.md: 链接 docs/y.md 指向的文件不存在",
        "README.md: 网址 /grid/no-such-page/ 在本系统中不存在",
        "docs/x.md: manage.py load_demo 没有选项 --histroy",
        "docs/x.md: 没有管理命令 manage.py no_such_command",
    ]
