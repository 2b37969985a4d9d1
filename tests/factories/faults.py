"""Faults injected into a read on both execution paths, so a test of how the hub answers a failure
holds whichever path answers (``HUB_EXECUTION``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

#: A replacement for a read: it gets the request's ``RequestDb`` first, then whatever else.
Fault = Callable[..., Awaitable[Any]]


def fail_read(monkeypatch: pytest.MonkeyPatch, target: str, fault: Fault, root: str | None = None) -> None:
    """``target`` (a data-access function such as ``resolvers.people.list_facilities``) becomes
    ``fault`` on the resolver path, and the compiled root field ``root`` (every one, by default) runs
    ``fault`` instead of its statement on the compiled path."""
    from schema.compiled.runner import CompiledReads

    monkeypatch.setattr(target, fault)
    original = CompiledReads._run_root

    async def compiled(self: Any, plan: Any, variables: Any, context: Any) -> Any:
        if root is None or plan.nodes[0].name.value == root:
            return await fault(context.db)
        return await original(self, plan, variables, context)

    monkeypatch.setattr("schema.compiled.runner.CompiledReads._run_root", compiled)
