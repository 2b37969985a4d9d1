"""The `hub` command's answers to a person's mistakes: one line naming the problem and the fix,
a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hub.cli import build_parser, main
from hub.settings import Settings
from resolvers.models.partners import Audience
from tests import docs


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


# --- the store a command finds (issue 14, item 17) -------------------------------------------------


def _migrated_demo_store(cwd: Path) -> Path:
    (cwd / ".hub-demo").mkdir()
    store = cwd / ".hub-demo" / "hub.db"
    url = f"sqlite+aiosqlite:///{store}"
    assert run_hub(["migrate"], {"HUB_DATABASE_URL": url}, cwd).returncode == 0
    return store


def test_after_make_demo_the_partner_guide_registers_in_the_demo_store(tmp_path: Path) -> None:
    store = _migrated_demo_store(tmp_path)
    added = run_hub(
        [
            "partners",
            "add",
            "--name",
            "Office of Senator Quillfeather (District 7)",
            "--audience",
            "legislative",
        ],
        {},
        tmp_path,
    )
    assert added.returncode == 0, added.stderr
    assert added.stderr.splitlines() == [
        "hub: using the demo store .hub-demo/hub.db (HUB_DATABASE_URL is unset; set it to use another store)"
    ]
    client = run_hub(
        ["clients", "add", "--partner", "Office of Senator Quillfeather (District 7)"], {}, tmp_path
    )
    assert client.returncode == 0, client.stderr
    assert "client_secret: " in client.stdout
    assert not (tmp_path / "hub.db").exists()
    import sqlite3

    with sqlite3.connect(store) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM partners")]
    assert names == ["Office of Senator Quillfeather (District 7)"]


def test_an_explicit_store_wins_over_the_demo_store(tmp_path: Path) -> None:
    _migrated_demo_store(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'mine.db'}"
    assert run_hub(["migrate"], {"HUB_DATABASE_URL": url}, tmp_path).returncode == 0
    listed = run_hub(["partners", "list"], {"HUB_DATABASE_URL": url}, tmp_path)
    assert listed.returncode == 0
    assert "demo store" not in listed.stderr


@pytest.mark.parametrize("command", [["partners", "list"], ["clients", "list"], ["keys", "list"], ["serve"]])
def test_no_store_says_what_to_do_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    line = one_clear_line(run_hub(command, {}, tmp_path))
    assert f"there is no store at {tmp_path / 'hub.db'}" in line
    assert "make demo" in line
    assert "hub migrate" in line
    assert "HUB_DATABASE_URL" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["policy"], ["schema", "--audience", "legislative"]])
def test_commands_without_a_store_need_none(tmp_path: Path, command: list[str]) -> None:
    result = run_hub(command, {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_an_empty_store_file_says_run_hub_migrate(tmp_path: Path) -> None:
    (tmp_path / "hub.db").touch()  # what an earlier version left behind
    line = one_clear_line(run_hub(["partners", "list"], {}, tmp_path))
    assert "has no hub schema; run `hub migrate` first" in line


# --- settings a person mistyped (issue 14, item 19) ------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HUB_CORS_ORIGINS", '["https://a.example.gov"'),
        ("HUB_ISSUERS", "{not json"),
        ("HUB_CORS_ORIGINS", "x"),
    ],
)
def test_malformed_json_in_a_list_setting_is_one_line(tmp_path: Path, variable: str, value: str) -> None:
    line = one_clear_line(run_hub(["policy"], {variable: value}, tmp_path))
    assert line.startswith(f"hub: {variable} is not valid JSON (")
    assert "write it as JSON, e.g. " in line


def test_a_wrong_field_inside_a_json_setting_is_named(tmp_path: Path) -> None:
    line = one_clear_line(
        run_hub(["policy"], {"HUB_ISSUERS": '[{"issuer": "https://login.example.gov"}]'}, tmp_path)
    )
    assert line.startswith("hub: HUB_ISSUERS[0].")


def test_a_misspelled_setting_is_named_with_the_closest_one(tmp_path: Path) -> None:
    result = run_hub(
        ["policy"], {"HUB_DATABSE_URL": "sqlite:///x.db", "HUB_TEST_FUZZ_EXAMPLES": "5"}, tmp_path
    )
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        "hub: warning: HUB_DATABSE_URL is not a hub setting and is ignored; did you mean HUB_DATABASE_URL?"
    ]


def test_an_unknown_setting_with_no_close_name_is_still_named(tmp_path: Path) -> None:
    result = run_hub(["policy"], {"HUB_ZZZZ": "1"}, tmp_path)
    assert result.returncode == 0
    [line] = result.stderr.splitlines()
    assert line.startswith("hub: warning: HUB_ZZZZ is not a hub setting and is ignored")
    assert "did you mean" not in line


# --- output into a closed pipe, help texts, choices, the policy ------------------------------------


def test_audit_export_into_a_pipe_closed_early_exits_quietly(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
    assert run_hub(["migrate"], {"HUB_DATABASE_URL": url}, tmp_path).returncode == 0
    code = (
        "import asyncio, sys\n"
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "from auth.audit import record_event\n"
        "from hub.db import create_engine\n"
        "from hub.settings import Settings\n"
        "async def main():\n"
        "    engine = create_engine(Settings(database_url=sys.argv[1]))\n"
        "    async with async_sessionmaker(engine)() as s:\n"
        "        for i in range(3000):\n"
        "            await record_event(s, kind='graphql', request_id=f'r{i:06d}-' + 'x' * 60)\n"
        "        await s.commit()\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", code, url], check=True, timeout=120, cwd=Path(__file__).parents[2])
    with sqlite3.connect(tmp_path / "ledger.db") as conn:
        assert conn.execute("SELECT count(*) FROM audit_events").fetchone()[0] == 3000
    # `hub audit export | head -n 1`
    exporter = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "audit", "export"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HUB_DATABASE_URL": url},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert exporter.stdout is not None
    assert exporter.stderr is not None
    first = exporter.stdout.readline()
    exporter.stdout.close()
    exporter.wait(timeout=60)
    stderr = exporter.stderr.read().decode()
    exporter.stderr.close()
    assert b'"request_id":"r000000-' in first
    assert stderr == ""
    assert exporter.returncode == 0


def _subparsers(
    parser: argparse.ArgumentParser, path: str = "hub"
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.append((f"{path} {name}", child))
                found += _subparsers(child, f"{path} {name}")
    return found


def test_every_command_has_help_text() -> None:
    commands = _subparsers(build_parser())
    assert {"hub serve", "hub demo", "hub keys rotate", "hub audit export"} <= {name for name, _ in commands}
    undescribed = [name for name, parser in commands if not parser.description]
    assert undescribed == []


@pytest.mark.parametrize("command", [["serve"], ["demo"], ["keys", "rotate"]])
def test_serve_demo_and_key_rotation_explain_themselves(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    description = out.split("\n\n", 1)[1].split("options:", 1)[0]
    assert len(description.split()) >= 20, out
    assert "HUB_" in description


@pytest.mark.parametrize("command", [["partners", "add"], ["schema"]])
def test_audience_options_list_their_choices(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for audience in Audience:
        assert audience.value in out


def test_policy_says_who_may_call_each_mutation(capsys: pytest.CaptureFixture[str]) -> None:
    from schema.audiences import audience_schema
    from schema.root import build_schema

    assert main(["policy"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    header = next(line for line in rows if line.startswith("| mutation |"))
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    table = {
        cells[0]: dict(zip(columns[2:], cells[2:], strict=True))
        for line in rows[rows.index(header) + 1 :]
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    full = build_schema()
    served = build_schema()._schema.mutation_type
    assert served is not None
    assert set(table) == set(served.fields)
    for audience in Audience:
        mutation = audience_schema(full, audience).mutation_type
        callable_ = set(mutation.fields) if mutation is not None else set()
        assert {name for name, cells in table.items() if cells[audience.value] == "Y"} == callable_, audience
    assert table["recordCustodyEvent"]["admin"] == "Y"
    assert table["registerVictim"]["admin"] == "N"


def test_the_partner_guide_commands_run_as_written_after_make_demo(tmp_path: Path) -> None:
    """Step 1 of the partner guide (docs/partners.md), typed in a checkout where `make demo` has run."""
    import re
    import shlex

    guide = docs.section("partner-guide")
    block = guide.split("```sh\n", 1)[1].split("```", 1)[0]
    _migrated_demo_store(tmp_path)

    def masked(line: str) -> str:
        return re.sub(r"\d+", "N", re.sub(r"[0-9a-f]{16}", "H", line.strip()))

    commands: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("hub "):
            commands.append((line, []))
        elif line.startswith("#"):
            sample = line.lstrip("# ").split("<-", 1)[0].rstrip()
            # "client_secret: 9XkQ…": the value is an illustration, the label is not.
            commands[-1][1].append(sample.split("…", 1)[0].rsplit(" ", 1)[0] if "…" in sample else sample)
    assert len(commands) == 2
    for command, samples in commands:
        result = run_hub(shlex.split(command)[1:], {}, tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        assert result.stderr.startswith("hub: using the demo store .hub-demo/hub.db")
        shown = [masked(line) for line in result.stdout.splitlines()]
        for sample in samples:
            assert any(line.startswith(masked(sample)) for line in shown), (sample, result.stdout)
    assert not (tmp_path / "hub.db").exists()


def test_serve_in_the_checkout_serves_the_demo_store(tmp_path: Path) -> None:
    """`hub serve` after `make demo`: its worker processes read the store from the environment, so
    they must be handed the demo store too (not ./hub.db)."""
    import time
    import urllib.request

    _migrated_demo_store(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve"],
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "HUB_PORT": str(port),
            "HUB_LOG_LEVEL": "warning",
        },
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline and answer is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                    answer = json.loads(response.read())
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                time.sleep(0.2)
        assert answer == {"status": "ready"}
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert stderr.splitlines()[0].startswith("hub: using the demo store .hub-demo/hub.db")
    assert not (tmp_path / "hub.db").exists()
