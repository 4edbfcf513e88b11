"""The sender's HTTP requests as bytes: the URL split into origin and request line, and
header values from templates that could split the request refused."""

from __future__ import annotations

import pytest

from alerting.adapters.http_request import BadRequest, Origin, parse_target, request_bytes


def test_a_url_is_split_into_its_origin_host_header_and_target() -> None:
    t = parse_target("https://hooks.example.com/services/T0/B0/secret?x=1&y=2")
    assert t.origin == Origin("https", "hooks.example.com", 443)
    assert (t.host_header, t.path) == ("hooks.example.com", "/services/T0/B0/secret?x=1&y=2")
    other = parse_target("http://[::1]:8080")
    assert other.origin == Origin("http", "::1", 8080)
    assert (other.host_header, other.path) == ("[::1]:8080", "/")
    assert parse_target("http://example.com:80/a").host_header == "example.com"


def test_a_path_with_spaces_or_non_ascii_is_percent_encoded() -> None:
    assert parse_target("http://example.com/a b/é").path == "/a%20b/%C3%A9"
    assert parse_target("http://bücher.example/").origin.host == "xn--bcher-kva.example"


def test_characters_a_strict_receiver_refuses_are_encoded_in_an_ascii_target() -> None:
    got = parse_target('http://example.com/a"<>\\^`{|}b?q={"k":1}&e=%20').path
    assert got == "/a%22%3C%3E%5C%5E%60%7B%7C%7Db?q=%7B%22k%22:1%7D&e=%20"


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "http:///nohost", "http://u:p@example.com/", "http://e:99999/"]
)
def test_urls_the_client_does_not_call_are_refused_without_quoting_them(url: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_target(url)
    assert "example" not in str(refused.value) and "nohost" not in str(refused.value)


def test_the_request_is_one_buffer_with_framing_set_by_the_client() -> None:
    target = parse_target("http://example.com:8080/hook")
    got = request_bytes(target, {"Content-Type": "application/json", "webhook-id": "n1"}, b"{}")
    assert got == (
        b"POST /hook HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 2\r\n"
        b"Content-Type: application/json\r\nwebhook-id: n1\r\n\r\n{}"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Team", "ops\r\nX-Injected: 1"),
        ("X-Team", "ops\nGET / HTTP/1.1"),
        ("X-Team", "ops\x00"),
        ("X-Team", "ops\x01"),
        ("X-Team", "ops\x0bmore"),
        ("X-Team", "ops\x1f"),
        ("X-Team", "ops\x7f"),
        ("X Team", "ops"),
        ("X-Team:", "ops"),
        ("Content-Length", "0"),
        ("transfer-encoding", "chunked"),
        ("Host", "internal"),
        ("Connection", "close"),
    ],
)
def test_a_header_that_could_change_the_requests_framing_is_refused(name: str, value: str) -> None:
    with pytest.raises(BadRequest):
        request_bytes(parse_target("http://example.com/"), {name: value}, b"")


def test_a_tab_in_a_header_value_is_allowed() -> None:
    got = request_bytes(parse_target("http://example.com/"), {"X-Team": "a\tb"}, b"")
    assert b"X-Team: a\tb\r\n" in got


def test_a_known_header_is_checked_again_when_its_value_changes() -> None:
    target = parse_target("http://example.com/")
    assert request_bytes(target, {"X-Team": "ops", "X-Other": "a"}, b"").endswith(
        b"X-Other: a\r\n\r\n"
    )
    with pytest.raises(BadRequest):
        request_bytes(target, {"X-Team": "ops", "X-Other": "a\x1fb"}, b"")
    # Not printable (a line separator) but no control character: sent as before.
    assert "X-Other: a\u2028b".encode() in request_bytes(target, {"X-Other": "a\u2028b"}, b"")
