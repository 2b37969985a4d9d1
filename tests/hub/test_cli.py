"""The `hub` command's answers to a person's mistakes: one line naming the problem and the fix,
a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hub.cli import main
from hub.settings import Settings


def run_hub(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess, as a person would."""
    base = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_malformed_database_url(tmp_path: Path) -> None:
    line = one_clear_line(run_hub(["migrate"], {"HUB_DATABASE_URL": "not a url"}, tmp_path))
    assert "HUB_DATABASE_URL" in line
    assert "sqlite+aiosqlite" in line


def test_unsupported_database(tmp_path: Path) -> None:
    line = one_clear_line(run_hub(["migrate"], {"HUB_DATABASE_URL": "mysql://root@127.0.0.1/hub"}, tmp_path))
    assert "'mysql'" in line


def test_unreachable_database(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port}/nowhere"
    line = one_clear_line(run_hub(["migrate"], {"HUB_DATABASE_URL": url}, tmp_path))
    assert "cannot reach the database" in line
    assert "HUB_DATABASE_URL" in line


def test_serve_refuses_an_unmigrated_store(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    line = one_clear_line(run_hub(["serve"], {"HUB_DATABASE_URL": url}, tmp_path))
    assert "hub migrate" in line


def test_serve_refuses_an_older_migration(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    assert run_hub(["migrate"], {"HUB_DATABASE_URL": url}, tmp_path).returncode == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0000'")
    line = one_clear_line(run_hub(["serve"], {"HUB_DATABASE_URL": url}, tmp_path))
    assert "is at migration 0000" in line
    assert "hub migrate" in line


def test_port_in_use(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    assert run_hub(["migrate"], {"HUB_DATABASE_URL": url}, tmp_path).returncode == 0
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        line = one_clear_line(run_hub(["serve"], {"HUB_DATABASE_URL": url, "HUB_PORT": str(port)}, tmp_path))
    assert f"port {port}" in line
    assert "HUB_PORT" in line


def test_bad_port_setting(tmp_path: Path) -> None:
    line = one_clear_line(run_hub(["serve"], {"HUB_PORT": "99999"}, tmp_path))
    assert line.startswith("hub: HUB_PORT")


@pytest.mark.parametrize("scale", ["-5", "0", "99999999", "many"])
def test_absurd_scale(scale: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["seed", "--scale", scale])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("hub: argument --scale: --scale ")


def test_migrate_twice_is_a_no_op(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'twice.db'}"
    first = run_hub(["migrate"], {"HUB_DATABASE_URL": url}, tmp_path)
    second = run_hub(["migrate"], {"HUB_DATABASE_URL": url}, tmp_path)
    assert first.returncode == second.returncode == 0
    assert "already at migration" in second.stdout


def test_default_store_is_a_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().database_url == f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
