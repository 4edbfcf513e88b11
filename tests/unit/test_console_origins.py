"""The console's cross-origin settings: parsing (alerting/console/origins.py) and the
configuration errors a bad value gives (alerting/config.py)."""

from __future__ import annotations

import pytest

from alerting import config
from alerting.config import ConfigError
from alerting.console.origins import api_base, origins

REQUIRED: dict[str, str] = {}  # every other setting has a default


@pytest.mark.parametrize(
    ("raw", "base"),
    [
        ("", ""),
        ("  ", ""),
        ("http://127.0.0.1:8082", "http://127.0.0.1:8082"),
        ("http://127.0.0.1:8082/", "http://127.0.0.1:8082"),
        ("HTTPS://Alerts.Example.COM", "https://alerts.example.com"),
        ("http://example.com:80", "http://example.com"),  # as the browser sends Origin
        ("https://example.com:443", "https://example.com"),
        ("https://example.com:80", "https://example.com:80"),
        ("http://[::1]:8082", "http://[::1]:8082"),
    ],
)
def test_an_api_base_is_an_origin_or_nothing(raw: str, base: str) -> None:
    assert api_base(raw) == base


@pytest.mark.parametrize(
    "raw",
    [
        "127.0.0.1:8082",  # no scheme
        "ftp://example.com",
        "javascript:alert(1)",
        "http://",
        "http://example.com/api",  # the API paths are absolute: no prefix
        "http://example.com/?q=1",
        "http://example.com/#x",
        "http://user:pw@example.com",
        "http://:pw@example.com",
        "http://example.com;script-src https://evil.example",  # would extend the CSP
        "http://example.com https://evil.example",
        "http://example.com:99999",
        "http://example.com:0",
        "http://example.com:port",
        "http://exa_mple.com",
    ],
)
def test_anything_but_an_origin_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r"origin|host"):
        api_base(raw)


def test_origins_are_a_deduplicated_list_in_order() -> None:
    raw = " http://127.0.0.1:8081 , http://LOCALHOST:8081,,http://127.0.0.1:8081/ "
    assert origins(raw) == ("http://127.0.0.1:8081", "http://localhost:8081")
    assert origins("") == () and origins(" , ") == ()
    with pytest.raises(ValueError):
        origins("http://127.0.0.1:8081,*")


def test_settings_parse_the_console_variables() -> None:
    s = config.load(
        {
            **REQUIRED,
            "ALERTING_CONSOLE_INGEST_URL": "http://127.0.0.1:8082/",
            "ALERTING_CONSOLE_METRICS_URL": "http://127.0.0.1:8083",
            "ALERTING_CORS_ORIGINS": "http://127.0.0.1:8081,http://localhost:8081",
        }
    )
    assert s.console_ingest_url == "http://127.0.0.1:8082"
    assert s.console_metrics_url == "http://127.0.0.1:8083"
    assert s.cors_origins == ("http://127.0.0.1:8081", "http://localhost:8081")
    default = config.load(REQUIRED)
    assert (default.console_ingest_url, default.console_metrics_url) == ("", "")
    assert default.cors_origins == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALERTING_CONSOLE_INGEST_URL", "http://127.0.0.1:8082/api"),
        ("ALERTING_CONSOLE_METRICS_URL", "metrics:8083"),
        ("ALERTING_CORS_ORIGINS", "http://127.0.0.1:8081,*"),
        ("ALERTING_CORS_ORIGINS", "http://a.example; script-src *"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: "):
        config.load({**REQUIRED, name: value})
