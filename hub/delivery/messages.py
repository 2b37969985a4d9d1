"""What a registrant reads or hears: one short notice per custody event kind, in their language.

The wording lives in ``hub/delivery/templates/<language>.toml`` (one file per language of
``resolvers.models.victims.Language``), loaded once and checked as it loads: every file has every
key, and a line uses only the placeholders its key allows. A file that fails either check stops
the worker at start (``TemplateError``) instead of sending a notice with a hole in it.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from resolvers.models.victims import Language
from resolvers.victims_delivery_queue import EventFacts

#: Every key of a template file's [text] table and the placeholders each may use.
TEXT_KEYS: Mapping[str, frozenset[str]] = {
    "office": frozenset(),
    "subject": frozenset({"office", "person"}),
    "intro": frozenset({"office"}),
    "who": frozenset({"person", "doc_id"}),
    "from_facility": frozenset({"facility"}),
    "to_facility": frozenset({"to_facility"}),
    "decision": frozenset({"decision"}),
    "release": frozenset({"who", "from_facility", "when"}),
    "escape": frozenset({"who", "from_facility", "when"}),
    "return": frozenset({"who", "when"}),
    "transfer": frozenset({"who", "from_facility", "to_facility", "when"}),
    "death": frozenset({"who", "when"}),
    "hearing_scheduled": frozenset({"who", "when"}),
    "hearing_decided": frozenset({"who", "decision"}),
    "fallback": frozenset({"who", "kind"}),
    "ack": frozenset({"code"}),
    "ack_with_url": frozenset({"code", "url"}),
    "reference": frozenset({"notification_id"}),
}
#: The [dates] table: a moment with its preposition, and what stands for a moment not recorded.
DATE_KEYS: Mapping[str, frozenset[str]] = {
    "on_date": frozenset({"month", "day", "year", "time"}),
    "on_unknown": frozenset(),
}
#: Event kinds with a line of their own; any other kind uses ``fallback``.
EVENT_KINDS = ("release", "escape", "return", "transfer", "death", "hearing_scheduled", "hearing_decided")


class TemplateError(ValueError):
    """A template file is missing, incomplete or uses a placeholder its line cannot fill."""


@dataclass(frozen=True, slots=True)
class Templates:
    language: str
    text: Mapping[str, str]
    on_date: str
    on_unknown: str
    months: tuple[str, ...]

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return self.on_unknown
        return self.on_date.format(
            month=self.months[moment.month - 1],
            day=moment.day,
            year=moment.year,
            time=moment.strftime("%H:%M"),
        )


def _placeholders(where: str, line: Any) -> set[str]:
    if not isinstance(line, str) or not line.strip():
        raise TemplateError(f"{where}: must be a non-empty string")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(line) if name is not None}
    except ValueError as exc:
        raise TemplateError(f"{where}: {exc}") from None
    if "" in names or any(not n.isidentifier() for n in names):
        raise TemplateError(f"{where}: placeholders must be named, like {{person}}")
    return names


def parse(language: str, document: Mapping[str, Any], origin: str) -> Templates:
    """One language's templates, checked: every key present, no unknown key, known placeholders."""
    tables = {"text": TEXT_KEYS, "dates": {**DATE_KEYS, "months": frozenset()}}
    for table, keys in tables.items():
        found = document.get(table)
        if not isinstance(found, dict):
            raise TemplateError(f"{origin}: the [{table}] table is missing")
        missing = sorted(set(keys) - set(found))
        if missing:
            raise TemplateError(f"{origin}: [{table}] is missing {', '.join(missing)}")
        unknown = sorted(set(found) - set(keys))
        if unknown:
            raise TemplateError(f"{origin}: [{table}] has unknown keys {', '.join(unknown)}")
    text: dict[str, str] = document["text"]
    dates: dict[str, Any] = document["dates"]
    for table, keys, values in (("text", TEXT_KEYS, text), ("dates", DATE_KEYS, dates)):
        for key, allowed in keys.items():
            extra = _placeholders(f"{origin} [{table}] {key}", values[key]) - allowed
            if extra:
                raise TemplateError(
                    f"{origin} [{table}] {key}: unknown placeholder(s) "
                    + ", ".join("{" + e + "}" for e in sorted(extra))
                    + (f"; it may use {', '.join('{' + a + '}' for a in sorted(allowed))}" if allowed else "")
                )
    months = dates["months"]
    if not (isinstance(months, list) and len(months) == 12 and all(isinstance(m, str) and m for m in months)):
        raise TemplateError(f"{origin} [dates] months: must list the twelve month names")
    return Templates(language, dict(text), dates["on_date"], dates["on_unknown"], tuple(months))


def load(directory: Path | None = None) -> dict[str, Templates]:
    """Every supported language's templates, from ``directory`` (default: the package's own)."""
    root: Any = directory if directory is not None else resources.files("hub.delivery") / "templates"
    loaded: dict[str, Templates] = {}
    for language in Language:
        source = root / f"{language.value}.toml"
        origin = f"templates/{language.value}.toml"
        try:
            document = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TemplateError(f"{origin}: no template file for the language {language.value!r}") from None
        except tomllib.TOMLDecodeError as exc:
            raise TemplateError(f"{origin}: not valid TOML ({exc})") from None
        loaded[language.value] = parse(language.value, document, origin)
    return loaded


@cache
def templates() -> dict[str, Templates]:
    """The package's templates, loaded (and checked) once."""
    return load()


def _for(facts: EventFacts) -> Templates:
    every = templates()
    return every.get(facts.language) or every[Language.EN.value]


def _what(t: Templates, facts: EventFacts) -> str:
    text = t.text
    who = text["who"].format(person=facts.person_name, doc_id=facts.doc_id)
    parts = {
        "who": who,
        "from_facility": text["from_facility"].format(facility=facts.facility) if facts.facility else "",
        "to_facility": text["to_facility"].format(to_facility=facts.to_facility) if facts.to_facility else "",
        "decision": text["decision"].format(decision=facts.decision) if facts.decision else "",
        "when": t.when(facts.hearing_at if facts.kind == "hearing_scheduled" else facts.occurred_at),
        "kind": facts.kind.replace("_", " "),
    }
    key = facts.kind if facts.kind in EVENT_KINDS else "fallback"
    return text[key].format_map({name: parts[name] for name in TEXT_KEYS[key]})


def subject(facts: EventFacts) -> str:
    t = _for(facts)
    return t.text["subject"].format(office=t.text["office"], person=facts.person_name)


def body(facts: EventFacts, ack_code: str | None, ack_url: str | None) -> str:
    t = _for(facts)
    lines = [t.text["intro"].format(office=t.text["office"]), _what(t, facts)]
    if ack_code is not None:
        if ack_url:
            lines.append(t.text["ack_with_url"].format(code=ack_code, url=ack_url))
        else:
            lines.append(t.text["ack"].format(code=ack_code))
    lines.append(t.text["reference"].format(notification_id=facts.notification_id))
    return "\n\n".join(lines)
