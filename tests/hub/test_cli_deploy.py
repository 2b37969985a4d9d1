"""What a deployment relies on from the `hub` command: `hub migrate --check` for a release's
pipeline, and `hub serve` refusing to publish a wildcard address as its tokens' issuer."""

from __future__ import annotations

from pathlib import Path

from tests.hub.test_cli import one_clear_line, run_hub


def test_migrate_check_changes_nothing_and_says_what_to_run(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'release.db'}"
    line = one_clear_line(run_hub(["migrate", "--check"], {"HUB_DATABASE_URL": url}, tmp_path))
    assert "has no hub schema; run `hub migrate` first" in line
    # --check wrote nothing: the store is still unmigrated.
    assert "run `hub migrate`" in one_clear_line(
        run_hub(["migrate", "--check"], {"HUB_DATABASE_URL": url}, tmp_path)
    )

    assert run_hub(["migrate"], {"HUB_DATABASE_URL": url}, tmp_path).returncode == 0
    checked = run_hub(["migrate", "--check"], {"HUB_DATABASE_URL": url}, tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "the latest" in checked.stdout


def test_serve_refuses_a_wildcard_issuer(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    # As in the image, with HUB_ISSUER forgotten (the server is never started: the check comes first).
    env = {"HUB_DATABASE_URL": url, "HUB_HOST": "0.0.0.0"}  # noqa: S104
    line = one_clear_line(run_hub(["serve"], env, tmp_path))
    assert line.startswith("hub: HUB_ISSUER: http://0.0.0.0:8000 is a wildcard address")
    # With the public URL set, serve goes on to its next check (this store is not migrated).
    line = one_clear_line(run_hub(["serve"], {**env, "HUB_ISSUER": "https://hub.department.gov"}, tmp_path))
    assert "HUB_ISSUER" not in line
    assert "hub migrate" in line
