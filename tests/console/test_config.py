"""The [console] section: defaults, listen addresses, refusals naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fence.console.config import ConsoleConfig, ConsoleConfigError


def test_defaults_are_loopback() -> None:
    config = ConsoleConfig.from_section({}, Path("/site"), "fence.toml")
    assert (config.host, config.port) == ("127.0.0.1", 8080) and config.loopback
    assert config.users_path == Path("/site/var/console-users.json")
    assert config.update_ms == 500 and config.session_ttl_s == 8 * 3600


def test_listen_and_options() -> None:
    config = ConsoleConfig.from_section(
        {"listen": "[::1]:9000", "users": "u.json", "session_ttl_s": 600, "update_ms": 250,
         "track_minutes": 5}, Path("/site"), "fence.toml")
    assert (config.host, config.port, config.loopback) == ("::1", 9000, True)
    assert config.users_path == Path("/site/u.json") and config.track_minutes == 5.0
    assert not ConsoleConfig.from_section({"listen": "0.0.0.0:80"}, Path("."), "f").loopback


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"listen": "8080"}, "listen must be HOST:PORT"),
        ({"listen": "host:99999"}, "listen must be HOST:PORT"),
        ({"listen": 8080}, "listen must be a non-empty string"),
        ({"port": 8080}, "unknown key(s): port"),
        ({"session_ttl_s": 0}, "session_ttl_s must be > 0"),
        ({"update_ms": 10}, "update_ms 10 outside 50-10000"),
        ({"update_ms": 1.5}, "update_ms must be an integer"),
        ({"update_ms": True}, "update_ms must be an integer"),
        ({"track_minutes": "ten"}, "track_minutes must be a number"),
    ],
)
def test_bad_values_are_refused_naming_file_and_key(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConsoleConfigError) as info:
        ConsoleConfig.from_section(section, Path("."), "site/fence.toml")
    text = str(info.value)
    assert text.startswith("site/fence.toml: [console]") and message in text
