"""The pages' words: one catalogue per language, Vietnamese first, English on request.

Templates call ``t("key")``; ``t.either(key, fallback)`` is for keys made from data (a
refusal code, a purpose, a role), which fall back to the data itself when not listed. A test
holds both catalogues to the same keys and every key the templates use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from gateway.web.messages_en import EN
from gateway.web.messages_vi import VI

LANGUAGES: Final = ("vi", "en")
DEFAULT_LANGUAGE: Final = "vi"
CATALOGUES: Final[Mapping[str, Mapping[str, str]]] = {"vi": VI, "en": EN}


def language_of(session: Mapping[str, Any]) -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


class Words:
    """The catalogue of one language, callable: ``t("nav.me")``, ``t("x", count=3)``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.catalogue = CATALOGUES[lang]

    def __call__(self, key: str, **values: Any) -> str:
        text = self.catalogue[key]
        return text.format(**values) if values else text

    def either(self, key: str, fallback: str) -> str:
        return self(key) if key in self.catalogue else fallback


def translator(lang: str) -> Words:
    return Words(lang)
