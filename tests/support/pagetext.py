"""What a person reads on a page: text nodes and user-visible attributes, never code or markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: Attributes people read or hear (tooltips, alt text, screen readers, placeholders, messages
#: the page's scripts show, confirmation prompts).
VISIBLE_ATTRIBUTES = ("title", "alt", "aria-label", "placeholder", "data-confirm", "data-copied")
SKIPPED = {"script", "style", "noscript", "code", "template"}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")


class _Text(HTMLParser):
    def __init__(self, language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.language = language
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = str(values.get("lang") or self.language)
        other_language = tag != "html" and not lang.startswith(self.language)
        if tag in SKIPPED or other_language:
            self.skipping.append(tag)
        if self.skipping:
            return
        for name, value in values.items():
            if value and (name in VISIBLE_ATTRIBUTES or name.startswith("data-msg-")):
                self.parts.append(value)
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(str(values["value"]))

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str, language: str = "zh") -> list[str]:
    """What a person sees or hears on `html` (not the parts marked in another language)."""
    parser = _Text(language)
    parser.feed(html)
    return parser.parts


def english_words(html: str, allowed: set[str]) -> list[str]:
    """Latin-script words on the page that are not in `allowed` (compared case-insensitively)."""
    folded = {word.casefold() for word in allowed}
    found = []
    for piece in visible_text(html):
        for word in LATIN_WORD.findall(piece):
            if word.casefold() not in folded:
                found.append(f"{word!r} in {piece[:80]!r}")
    return found
