"""Notice wording from the template files: every language, every event kind, checked at load."""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.delivery import messages
from hub.delivery.messages import EVENT_KINDS, TemplateError, load
from resolvers.models.victims import Language
from resolvers.victims_delivery_queue import EventFacts
from tests.factories.victims import make_victim

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "hub" / "delivery" / "templates"

FACTS = EventFacts(
    notification_id=42,
    kind="release",
    occurred_at=datetime(2026, 3, 3, 14, 5, tzinfo=UTC),
    person_name="John Doe",
    doc_id="100200",
    facility="North State Prison",
    to_facility="South Unit",
    hearing_at=datetime(2026, 8, 19, 9, 30, tzinfo=UTC),
    decision="parole denied",
)
LEFTOVER = re.compile(r"[{}]")


@pytest.mark.parametrize("language", [lang.value for lang in Language])
@pytest.mark.parametrize("kind", [*EVENT_KINDS, "sentence_modified"])
@pytest.mark.parametrize("sparse", [False, True], ids=["all-facts", "few-facts"])
def test_every_kind_renders_in_every_language(language: str, kind: str, sparse: bool) -> None:
    facts = replace(FACTS, kind=kind, language=language)
    if sparse:
        facts = replace(facts, facility=None, to_facility=None, hearing_at=None, decision=None)
    for ack in (None, "42.abcd"):
        for url in (None, "https://hub.example/notifications/ack?code=42.abcd"):
            text = messages.subject(facts) + "\n" + messages.body(facts, ack, url)
            assert not LEFTOVER.search(text), text
            assert "John Doe" in text
            assert ("42.abcd" in text) is (ack is not None)
            assert (url is not None and ack is not None) is ("hub.example" in text)


def test_spanish_wording_and_dates() -> None:
    facts = replace(FACTS, kind="transfer", language="es")
    assert messages.subject(facts) == "Oficina de Servicios a Víctimas: aviso sobre John Doe"
    assert messages.body(facts, "42.abcd", None).split("\n\n") == [
        "Le escribe la Oficina de Servicios a Víctimas.",
        "Se efectuó el traslado de John Doe (n.º de recluso 100200) de North State Prison a South Unit "
        "el 3 de marzo de 2026 a las 14:05 UTC.",
        "Le rogamos que confirme que ha recibido este aviso con el código 42.abcd. Volveremos a ponernos "
        "en contacto con usted hasta que lo haga.",
        "Referencia: aviso 42.",
    ]
    hearing = replace(FACTS, kind="hearing_scheduled", language="es")
    assert "el 19 de agosto de 2026 a las 09:30 UTC." in messages.body(hearing, None, None)


def test_english_wording_is_what_it_was() -> None:
    facts = replace(FACTS, kind="escape")
    assert messages.subject(facts) == "Office of Victim Services: notice about John Doe"
    assert messages.body(facts, "42.abcd", "https://hub.example/ack").split("\n\n") == [
        "This is the Office of Victim Services.",
        "John Doe (DOC 100200) escaped from North State Prison on March 03, 2026 at 14:05 UTC. "
        "Call 911 if you are in danger.",
        "Please confirm you received this notice with code 42.abcd or at https://hub.example/ack. "
        "We will contact you again until you do.",
        "Reference: notification 42.",
    ]


def test_an_unknown_language_falls_back_to_english() -> None:
    assert messages.subject(replace(FACTS, language="xx")).startswith("Office of Victim Services")


def _copy(tmp_path: Path) -> Path:
    for source in TEMPLATES.glob("*.toml"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def test_the_shipped_templates_load() -> None:
    assert set(load(TEMPLATES)) == {lang.value for lang in Language}


def test_a_missing_key_stops_the_load(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    es = directory / "es.toml"
    es.write_text(
        re.sub(r"(?m)^hearing_decided = .*\n", "", es.read_text(encoding="utf-8")), encoding="utf-8"
    )
    with pytest.raises(TemplateError, match=r"templates/es.toml: \[text\] is missing hearing_decided"):
        load(directory)


def test_an_unknown_placeholder_stops_the_load(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    en = directory / "en.toml"
    en.write_text(en.read_text(encoding="utf-8").replace("{who} died", "{victim} died"), encoding="utf-8")
    with pytest.raises(TemplateError, match=r"\[text\] death: unknown placeholder\(s\) \{victim\}"):
        load(directory)


def test_a_missing_language_file_stops_the_load(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / "es.toml").unlink()
    with pytest.raises(TemplateError, match="no template file for the language 'es'"):
        load(directory)


def test_the_template_files_are_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["hub.delivery"]
    shipped = {p.name for pattern in patterns for p in (ROOT / "hub" / "delivery").glob(pattern)}
    assert shipped == {f"{lang.value}.toml" for lang in Language}


async def test_the_store_refuses_an_unsupported_language(session: AsyncSession) -> None:
    assert (await make_victim(session)).language == "en"
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await make_victim(session, language="fr")
