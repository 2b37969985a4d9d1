"""The lock files pin every dependency that ``pyproject.toml`` declares, at a version it allows.

``make test`` and the Dockerfile install from them (``--require-hashes``), so a dependency added to
``pyproject.toml`` without ``make lock`` would be missing from every fresh install: this test says so.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s\\;]+)", re.MULTILINE)


def _locked(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text()
    pins: dict[str, str] = {canonicalize_name(m[1].split("[")[0]): m[2] for m in _PIN.finditer(text)}
    assert pins, f"no pins in requirements/{name}"
    return pins


def _declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        declared += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return declared


@pytest.mark.parametrize(("lock", "extras"), [("runtime.lock", ()), ("dev.lock", ("dev",))])
def test_every_declared_dependency_is_locked_at_an_allowed_version(
    lock: str, extras: tuple[str, ...]
) -> None:
    pins = _locked(lock)
    problems = []
    for req in _declared(*extras):
        version = pins.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name} is not in requirements/{lock}")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}=={version} in requirements/{lock} is outside {req.specifier}")
    assert not problems, "run `make lock` and commit the lock files:\n" + "\n".join(problems)


def test_every_pin_carries_a_hash() -> None:
    for lock in ("runtime.lock", "dev.lock"):
        blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements" / lock).read_text())
        unhashed = [b.split("==")[0] for b in blocks if "==" in b and "--hash=sha256:" not in b]
        assert not unhashed, f"requirements/{lock}: no hash for {unhashed}"
