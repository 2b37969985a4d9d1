"""Administration command groups of the ``hub`` CLI, each registered on the top-level parser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.commands import audit, clients, research, schema_sdl, worker

REGISTRARS: list[Callable[[Any], None]] = [
    schema_sdl.register,
    clients.register,
    worker.register,
    audit.register,
    research.register,
]
