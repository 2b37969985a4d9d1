"""The hub's log handler writes to the process's stderr as it is when a line is logged."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import orjson
import pytest

from hub.logs import configure_logging


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_line_logged_after_stderr_was_replaced_goes_to_the_new_one(
    monkeypatch: pytest.MonkeyPatch, root_logging: None
) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("info")
    first.close()  # as pytest closes a test's captured stream, or a daemon its terminal
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)

    logging.getLogger("hub.test").warning("still heard")

    [line] = second.getvalue().splitlines()
    assert orjson.loads(line)["message"] == "still heard"
