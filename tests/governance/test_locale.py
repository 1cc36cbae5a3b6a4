"""viewflow's own UI strings are shown in Chinese (locale/zh_Hans, our translation of viewflow 2.4)."""

import gettext
from pathlib import Path

from django.conf import settings
from django.utils import translation

PO_FILE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file as dicts of msgctxt/msgid/msgid_plural/msgstr/msgstr[N] (header excluded)."""
    entries, entry, key = [], {}, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = line.strip()
        if not line:
            if entry:
                entries.append(entry)
            entry, key = {}, None
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += _unquote(line)
        else:
            key, _, rest = line.partition(" ")
            entry[key] = _unquote(rest)
    return [e for e in entries if e.get("msgid")]


def _unquote(text: str) -> str:
    assert text.startswith('"') and text.endswith('"'), text
    return text[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def test_every_message_is_translated():
    entries = parse_po(PO_FILE)
    assert len(entries) > 150
    for entry in entries:
        translations = [value for key, value in entry.items() if key.startswith("msgstr")]
        assert translations and all(value.strip() for value in translations), entry["msgid"]


def test_compiled_catalogue_is_checked_in_and_matches_the_po():
    # A fresh clone needs no gettext: the .mo is part of the repository and must say what the .po says.
    with MO_FILE.open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)._catalog
    for entry in parse_po(PO_FILE):
        key = f"{entry['msgctxt']}\x04{entry['msgid']}" if "msgctxt" in entry else entry["msgid"]
        if "msgid_plural" in entry:
            assert catalog[(key, 0)] == entry["msgstr[0]"], entry["msgid"]
        else:
            assert catalog[key] == entry["msgstr"], entry["msgid"]


def test_viewflow_strings_translate_to_chinese():
    with translation.override("zh-hans"):
        assert translation.gettext("Log out") == "退出登录"
        assert translation.gettext("Applications") == "应用"
        assert translation.pgettext("STATUS", "Done") == "已完成"
        assert translation.gettext("Task {task} has been completed.") == "任务{task}已完成。"


def test_login_page_is_in_chinese(client):
    page = client.get("/accounts/login/").content.decode()
    # (The "重置密码" link shows only where mail is configured: tests/security/test_account_recovery.py.)
    assert "登录" in page
    for english in ("Log in", "Reset password", "Viewflow Demo suite"):
        assert english not in page


def test_home_page_shows_viewflow_strings_in_chinese(client, personas):
    client.force_login(personas["grid_leader"])
    page = client.get("/").content.decode()
    assert "退出登录" in page
    assert "Log out" not in page and "Logout" not in page


def test_login_page_tab_carries_the_site_title(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert "<title>登录 - 基层治理工作平台</title>" in page
    assert "Django Material" not in page


def test_date_fields_render_iso_values_that_a_date_input_can_show():
    """Browsers drop an <input type="date"> value that is not YYYY-MM-DD: zh-hans must render ISO."""
    import datetime

    from django import forms

    class Dates(forms.Form):
        day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    with translation.override("zh-hans"):
        html = str(Dates(initial={"day": datetime.date(2026, 11, 7)})["day"])
        assert 'value="2026-11-07"' in html
        bound = Dates(data={"day": "2026/11/07"})
        assert bound.is_valid() and bound.cleaned_data["day"] == datetime.date(2026, 11, 7)
