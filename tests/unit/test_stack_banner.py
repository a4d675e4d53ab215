"""What `make run` tells the operator: the servers it uses (in its banner and in `.revsync/env`,
never with a password) and commands to try that are the README's."""

import subprocess
from pathlib import Path

from services import stack

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
EMBEDDED_DB = "postgresql://postgres@127.0.0.1:41234/revsync"
EMBEDDED_NATS = "nats://127.0.0.1:41235"


def sourced(env_file_text: str, tmp_path: Path) -> dict[str, str]:
    """The two URLs a shell has after `. .revsync/env`."""
    path = tmp_path / "env"
    path.write_text(env_file_text)
    shell = subprocess.run(
        ["sh", "-c", f'. "{path}" && echo "$DATABASE_URL" && echo "$NATS_URL"'],
        capture_output=True, text=True, check=True, env={},
    )  # fmt: skip
    database_url, nats_url = shell.stdout.splitlines()
    return {"DATABASE_URL": database_url, "NATS_URL": nats_url}


def test_the_env_file_exports_the_embedded_servers_urls_as_they_are(tmp_path: Path) -> None:
    exported = sourced(stack.server_env(EMBEDDED_DB, EMBEDDED_NATS), tmp_path)
    assert exported == {"DATABASE_URL": EMBEDDED_DB, "NATS_URL": EMBEDDED_NATS}


def test_a_given_database_url_is_exported_and_shown_without_its_password(tmp_path: Path) -> None:
    given = "postgresql://revsync:s3cr%40t@db.internal:5432/revsync?sslmode=require&password=p2"
    text = stack.server_env(given, EMBEDDED_NATS)
    shown = stack.banner(["sandbox"], given, EMBEDDED_NATS)
    for secret in ("s3cr", "p2"):
        assert secret not in text and secret not in shown
    expected = "postgresql://revsync@db.internal:5432/revsync?sslmode=require"
    assert sourced(text, tmp_path)["DATABASE_URL"] == expected
    assert expected in shown


def test_a_given_nats_url_is_shown_without_its_token_or_password(tmp_path: Path) -> None:
    for given, expected in [
        ("nats://s3cr3t-token@nats.internal:4222", "nats://nats.internal:4222"),
        ("tls://s3cr3t-token@nats.internal:4222", "tls://nats.internal:4222"),
        ("nats://revsync:s3cr3t@nats.internal:4222", "nats://revsync@nats.internal:4222"),
    ]:
        text = stack.server_env(EMBEDDED_DB, given)
        shown = stack.banner(["sandbox"], EMBEDDED_DB, given)
        assert "s3cr3t" not in text and "s3cr3t" not in shown, given
        assert sourced(text, tmp_path)["NATS_URL"] == expected
        assert f"NATS_URL         {expected}" in shown


def test_the_banner_shows_both_servers_and_where_they_are_written() -> None:
    shown = stack.banner(["nats", "postgres", "sandbox"], EMBEDDED_DB, EMBEDDED_NATS)
    assert f"DATABASE_URL     {EMBEDDED_DB}" in shown
    assert f"NATS_URL         {EMBEDDED_NATS}" in shown
    assert ".revsync/env" in shown


def test_every_command_the_banner_suggests_is_in_the_readme() -> None:
    shown = stack.banner([], EMBEDDED_DB, EMBEDDED_NATS)
    assert stack.TRY_COMMANDS
    for command in stack.TRY_COMMANDS:
        assert command in shown
        assert command in README, command
