"""The [console] part of seller.toml and `mercato seller set-password`."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mercato.cli.seller import app
from mercato.seller.config import ConfigError, load, set_console_password, write_starter
from mercato.seller.console.passwords import verify_password


def starter(tmp: Path) -> Path:
    cfg, _ = write_starter(tmp / "n")
    return cfg


def test_starter_has_a_session_secret_and_no_user(tmp_path: Path) -> None:
    c = load(starter(tmp_path)).console
    assert len(c.session_secret) >= 32 and c.users == ()
    assert (c.idle_s, c.lifetime_s, c.secure_cookie) == (7200, 43200, False)
    assert c.session_secret not in repr(c)


def test_set_password_adds_then_replaces_keeping_the_rest(tmp_path: Path) -> None:
    cfg = starter(tmp_path)
    before = cfg.read_text()
    set_console_password(cfg, "meera", "scrypt$one")
    set_console_password(cfg, "ravi", "scrypt$two")
    set_console_password(cfg, "meera", "scrypt$three")
    c = load(cfg).console
    assert dict(c.users) == {"meera": "scrypt$three", "ravi": "scrypt$two"}
    assert cfg.read_text().startswith(before.rstrip("\n"))  # nothing above was touched
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o600


def test_set_password_into_an_existing_table_before_another_section(tmp_path: Path) -> None:
    cfg = starter(tmp_path)
    cfg.write_text(cfg.read_text() + '\n[console.users]\n"old" = "scrypt$x"\n\n[extra]\nkey = 1\n')
    set_console_password(cfg, "old", "scrypt$y")
    set_console_password(cfg, "new", "scrypt$z")
    assert dict(load(cfg).console.users) == {"old": "scrypt$y", "new": "scrypt$z"}


@pytest.mark.parametrize("user", ["", "a.b", "with space", 'q"uote', "x" * 65, "ünï"])
def test_bad_user_names_are_refused(tmp_path: Path, user: str) -> None:
    with pytest.raises(ConfigError):
        set_console_password(starter(tmp_path), user, "scrypt$x")


def test_set_password_on_a_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        set_console_password(tmp_path / "none.toml", "a", "scrypt$x")
    bad = tmp_path / "bad.toml"
    bad.write_text("[console\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        set_console_password(bad, "a", "scrypt$x")
    inline = starter(tmp_path)
    inline.write_text(inline.read_text().replace("[console]", '[console]\nusers = { a = "scrypt$x" }'))
    with pytest.raises(ConfigError, match=r"\[console.users\] table"):
        set_console_password(inline, "b", "scrypt$y")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('session_secret = "short"', "session_secret"),
        ("idle_minutes = 0", "idle_minutes"),
        ('idle_minutes = "5"', "idle_minutes must be a int"),
        ("secure_cookie = 1", "secure_cookie"),
        ("users = 5", "users"),
    ],
)
def test_bad_console_settings_name_the_field(tmp_path: Path, extra: str, message: str) -> None:
    cfg = starter(tmp_path)
    text = cfg.read_text()
    text = re.sub(r"^session_secret = .*$", "", text, flags=re.M).replace(
        "[console]\n", f"[console]\n{extra}\n"
    )
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load(cfg)


def test_bad_user_entries_in_the_file(tmp_path: Path) -> None:
    cfg = starter(tmp_path)
    cfg.write_text(cfg.read_text() + "\n[console.users]\nmeera = 5\n")
    with pytest.raises(ConfigError, match="console.users.meera"):
        load(cfg)
    cfg.write_text(cfg.read_text().replace("meera = 5", '"a.b" = "scrypt$x"'))
    with pytest.raises(ConfigError, match="user name"):
        load(cfg)


def test_cli_set_password(tmp_path: Path) -> None:
    cfg = starter(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["set-password", "--config", str(cfg), "--user", "meera", "--password-stdin"],
                      input="a good long password\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    stored = load(cfg).console.password_hash("meera")
    assert stored and verify_password("a good long password", stored)
    assert "a good long password" not in cfg.read_text()
    r = runner.invoke(
        app, ["set-password", "--config", str(cfg), "--user", "x", "--password-stdin"], input="short\n"
    )
    assert r.exit_code == 2 and "at least" in r.output
    r = runner.invoke(app, ["set-password", "--config", str(cfg), "--user", "a b", "--password-stdin"],
                      input="a good long password\n")  # fmt: skip
    assert r.exit_code == 2 and "user name" in r.output
    r = runner.invoke(app, ["set-password", "--config", str(cfg), "--user", "meera"],
                      input="first password!\nsecond password\n")  # fmt: skip
    assert r.exit_code != 0  # the confirmation did not match
    r = runner.invoke(app, ["set-password", "--config", str(cfg), "--user", "meera"],
                      input="typed twice ok\ntyped twice ok\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    stored = load(cfg).console.password_hash("meera")
    assert stored and verify_password("typed twice ok", stored)
