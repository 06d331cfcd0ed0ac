"""Every msgid used by the admin console has a Chinese translation (English is the source)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "idaas/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _msgids(folder: Path, method: str, pattern: str) -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(folder),
        method_map=[(pattern, method)],
        keywords=KEYWORDS,
        options_map={pattern: {"extensions": "jinja2.ext.i18n"}} if method == "jinja2" else None,
    ):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def test_every_admin_msgid_is_translated() -> None:
    used = _msgids(ROOT / "templates/admin", "jinja2", "**.html")
    used |= _msgids(ROOT / "idaas/admin", "python", "**.py")
    assert len(used) > 300  # the extraction really read the console
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    untranslated = sorted(m for m in used if m not in catalogue or not catalogue[m].string)
    assert untranslated == []


def test_the_console_speaks_both_languages(admin_client: object) -> None:
    zh = admin_client.get("/admin/accounts", headers={"Accept-Language": "zh-CN"})  # type: ignore[attr-defined]
    assert "账号" in zh.get_data(as_text=True)
    admin_client.get("/lang/en")  # type: ignore[attr-defined]
    en = admin_client.get("/admin/accounts")  # type: ignore[attr-defined]
    html = en.get_data(as_text=True)
    assert "Accounts" in html and "账号" not in html
