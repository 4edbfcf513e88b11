"""The console's files as rule-service serves them (alerting/console/site.py).

The app is composed as rule-service composes it (``problem_app`` around the console's
routes), so the headers every API answer carries (nosniff) are checked too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from alerting.console import site
from alerting.console.site import ConsoleConfig
from alerting.web.app import problem_app

INGEST = "http://127.0.0.1:8082"
METRICS = "http://127.0.0.1:8083"
CONFIG = ConsoleConfig(ingest_url=INGEST, metrics_url=METRICS)
HTML = "text/html; charset=utf-8"
JS = "text/javascript; charset=utf-8"


def client(config: ConsoleConfig = CONFIG, root: Path = site.STATIC) -> httpx.AsyncClient:
    app = problem_app(site.routes(config, root))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://console.test")


def directives(response: httpx.Response) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def assert_confined(response: httpx.Response) -> None:
    """What every answer of /ui carries, whatever its status."""
    csp = directives(response)
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"] and csp["form-action"] == ["'none'"]
    assert "unsafe" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "status", "media_type"),
    [
        ("/ui", 200, HTML),
        ("/ui/", 200, HTML),
        ("/ui/index.html", 200, HTML),
        ("/ui/app.js", 200, JS),
        ("/ui/vendor/preact.mjs", 200, JS),
        ("/ui/console.css", 200, "text/css; charset=utf-8"),
        ("/ui/config.json", 200, "application/json; charset=utf-8"),
        ("/ui/lib/missing.js", 404, "text/plain; charset=utf-8"),
        ("/ui/missing.css", 404, "text/plain; charset=utf-8"),
    ],
)
async def test_every_answer_carries_the_policy_and_its_type(
    path: str, status: int, media_type: str
) -> None:
    async with client() as http:
        response = await http.get(path)
    assert (response.status_code, response.headers["content-type"]) == (status, media_type)
    assert_confined(response)


async def test_a_revalidation_answers_304_with_the_same_headers() -> None:
    async with client() as http:
        first = await http.get("/ui/app.js")
        etag = first.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        again = await http.get("/ui/app.js", headers={"If-None-Match": etag})
        weak = await http.get("/ui/app.js", headers={"If-None-Match": f'"x", W/{etag}'})
        star = await http.get("/ui/app.js", headers={"If-None-Match": "*"})
        stale = await http.get("/ui/app.js", headers={"If-None-Match": '"0000"'})
        other = await http.get("/ui/console.css", headers={"If-None-Match": etag})
    for response in (again, weak, star):
        assert response.status_code == 304 and response.content == b""
        assert response.headers["etag"] == etag
        assert_confined(response)
    assert stale.status_code == 200 and stale.content == first.content
    assert other.status_code == 200 and other.headers["etag"] != etag


async def test_the_etag_follows_the_content() -> None:
    async with client() as http:
        app_js = await http.get("/ui/app.js")
        config = await http.get("/ui/config.json")
    async with client(ConsoleConfig()) as http:
        same_js = await http.get("/ui/app.js")
        other_config = await http.get("/ui/config.json")
    assert app_js.headers["etag"] == same_js.headers["etag"]
    assert config.headers["etag"] != other_config.headers["etag"]


@pytest.mark.parametrize(
    "path",
    [
        "/ui/rules",
        "/ui/rules/r-123",
        "/ui/silences/new?client_id=a&name=%3Cimg%3E",
        "/ui/notifications?status=FAILED&since=2026-01-01T00:00:00Z",
        "/ui/views",  # a folder of files is still a view's path, not a listing
        "/ui/vendor/preact.d.mts",  # type declarations are not shipped
        "/ui/..%2Fpyproject.toml",
    ],
)
async def test_deep_links_answer_the_page(path: str) -> None:
    async with client() as http:
        page = await http.get("/ui")
        response = await http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == HTML
    assert response.content == page.content
    assert b'<script type="module" src="/ui/app.js">' in response.content
    assert_confined(response)


async def test_head_answers_the_headers_without_a_body() -> None:
    async with client() as http:
        response = await http.head("/ui/app.js")
    assert response.status_code == 200 and response.content == b""
    assert_confined(response)


async def test_other_methods_are_refused() -> None:
    async with client() as http:
        response = await http.post("/ui/app.js", content=b"x")
    assert response.status_code == 405


async def test_config_json_reflects_the_settings() -> None:
    async with client() as http:
        cross = (await http.get("/ui/config.json")).json()
    async with client(ConsoleConfig()) as http:
        same = (await http.get("/ui/config.json")).json()
    assert cross == {"ingest_url": INGEST, "metrics_url": METRICS}
    assert same == {"ingest_url": "", "metrics_url": ""}


@pytest.mark.parametrize(
    ("config", "connect"),
    [
        (ConsoleConfig(), ["'self'"]),
        (ConsoleConfig(ingest_url=INGEST), ["'self'", INGEST]),
        (CONFIG, ["'self'", INGEST, METRICS]),
        (ConsoleConfig(ingest_url=INGEST, metrics_url=INGEST), ["'self'", INGEST]),
    ],
)
async def test_connect_src_lists_exactly_the_configured_api_origins(
    config: ConsoleConfig, connect: list[str]
) -> None:
    async with client(config) as http:
        for path in ("/ui", "/ui/app.js", "/ui/nothing.js"):
            assert directives(await http.get(path))["connect-src"] == connect


async def test_only_shipped_file_types_are_loaded(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.js").write_text("export const a = 1;")
    (tmp_path / "lib" / "a.d.mts").write_text("export const a: number;")
    (tmp_path / "notes.py").write_text("secret = 1")
    async with client(root=tmp_path) as http:
        js = await http.get("/ui/lib/a.js")
        types = await http.get("/ui/lib/a.d.mts")
        source = await http.get("/ui/notes.py")
    assert js.text == "export const a = 1;"
    assert types.headers["content-type"] == HTML and "number" not in types.text
    assert source.headers["content-type"] == HTML and "secret" not in source.text


def test_the_page_needs_no_inline_script_or_style() -> None:
    page = (site.STATIC / "index.html").read_text()
    assert re.findall(r"<script\b[^>]*>", page) == ['<script type="module" src="/ui/app.js">']
    assert "<style" not in page and " style=" not in page
    assert re.search(r"\son[a-z]+=", page) is None


# Ways around htm's text-only interpolation (or the CSP's no-eval): the bare names, so
# `{dangerouslySetInnerHTML: ...}` passed to h(), `el["innerHTML"]` or `(0, eval)(code)`
# are caught as well as the plain spellings. Checked in code: comments that start a line
# (JSDoc, `//`) are dropped first, so a docstring may say what is never used.
BANNED = re.compile(
    r"\b(?:dangerouslySetInnerHTML|innerHTML|outerHTML|insertAdjacentHTML|createContextualFragment"
    r"|srcdoc|DOMParser|parseFromString|eval)\b|\w*HTMLUnsafe\b"
    r"|\bdocument\s*\.\s*write(?:ln)?\b|\bFunction\s*\(|\bset(?:Timeout|Interval)\s*\(\s*[\"'`]"
)
LEADING_COMMENT = re.compile(r"^[ \t]*(?://[^\n]*|/\*.*?\*/)", re.MULTILINE | re.DOTALL)
SCRIPTS = {".js", ".mjs"} & site.SERVED


def banned_in(text: str) -> list[str]:
    return [m.group(0) for m in BANNED.finditer(LEADING_COMMENT.sub("", text))]


@pytest.mark.parametrize(
    "code",
    [
        "html`<div dangerouslySetInnerHTML=${{ __html: text }} />`",
        'h("div", { dangerouslySetInnerHTML: { __html: text } })',
        "const props = { dangerouslySetInnerHTML };",
        'el["innerHTML"] = text;',
        "el.innerHTML = text;",
        'const key = "outerHTML";',
        'node.insertAdjacentHTML("beforeend", text);',
        "document . write(text);",
        "document.writeln(text);",
        "window.eval(code);",
        "(0, eval)(code);",
        'new Function("return 1");',
        'Function("x")();',
        'setTimeout("go()", 10);',
        "frame.srcdoc = text;",
        'new DOMParser().parseFromString(text, "text/html");',
        "el.setHTMLUnsafe(text);",
        "range.createContextualFragment(text);",
        "const a = 1; // innerHTML after code is still code-level text",
    ],
)
def test_ways_to_render_markup_are_banned(code: str) -> None:
    assert banned_in(code), code


@pytest.mark.parametrize(
    "code",
    [
        "/**\n * Never innerHTML or dangerouslySetInnerHTML: text only.\n */\nconst a = 1;",
        "  // eval is refused by the CSP anyway\nconst b = 2;",
        "const evaluators = await evaluate(rule);",
        "const f = /** @type {Function} */ (g);",
        "window.setTimeout(tick, 10);",
        "const text = el.textContent;",
    ],
)
def test_text_only_code_passes(code: str) -> None:
    assert banned_in(code) == [], code


def test_every_script_is_type_checked_and_renders_no_markup() -> None:
    """The CSP would stop injected script; these keep markup from being injected at all.
    Every script the console serves is checked, except the vendored libraries."""
    scripts = sorted(
        p
        for p in site.STATIC.rglob("*")
        if p.suffix in SCRIPTS and "vendor" not in p.relative_to(site.STATIC).parts
    )
    assert len(scripts) > 10, scripts
    for path in scripts:
        text = path.read_text()
        assert text.startswith("// @ts-check\n"), path
        assert banned_in(text) == [], (path, banned_in(text))


# `make typecheck` (so `make test`) runs tools/console-types/ensure-node.sh before npm and
# tsc: Debian's nodejs and npm are installed when missing and root, else the command is
# printed. Run here with a PATH of fakes (`id`, `apt-get`), so nothing is installed.
ROOT = Path(__file__).resolve().parents[2]
ENSURE_NODE = ROOT / "tools" / "console-types" / "ensure-node.sh"
FAKE_APT = """#!/bin/sh
echo "$*" >> "$APT_LOG"
if [ "$1" = install ]; then
  for tool in node npm; do
    printf '#!/bin/sh\\n' > "$FAKE_BIN/$tool"; {chmod} +x "$FAKE_BIN/$tool"
  done
fi
"""


def ensure_node(
    tmp_path: Path, *, uid: int, apt: bool = True, have: tuple[str, ...] = ()
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    fake = tmp_path / "bin"
    fake.mkdir()
    scripts = {"id": f"#!/bin/sh\necho {uid}\n", **{t: "#!/bin/sh\n" for t in have}}
    if apt:
        scripts["apt-get"] = FAKE_APT.format(chmod=shutil.which("chmod"))
    for name, text in scripts.items():
        (fake / name).write_text(text)
        (fake / name).chmod(0o755)
    log = tmp_path / "apt.log"
    env = {"PATH": str(fake), "APT_LOG": str(log), "FAKE_BIN": str(fake)}
    done = subprocess.run(
        ["/bin/sh", str(ENSURE_NODE)], env=env, capture_output=True, text=True, check=False
    )
    return done, log.read_text().splitlines() if log.exists() else []


def test_make_installs_node_and_npm_from_debian_as_root(tmp_path: Path) -> None:
    done, apt = ensure_node(tmp_path, uid=0)
    assert done.returncode == 0, done.stderr
    assert apt == ["update -q", "install -y -q nodejs npm"]
    assert (tmp_path / "bin" / "npm").exists()


def test_make_prints_the_command_when_not_root(tmp_path: Path) -> None:
    done, apt = ensure_node(tmp_path, uid=1000)
    assert done.returncode != 0 and apt == []
    assert "sudo apt-get install -y nodejs npm" in done.stderr


def test_make_prints_the_command_without_apt_get(tmp_path: Path) -> None:
    done, apt = ensure_node(tmp_path, uid=0, apt=False)
    assert done.returncode != 0 and apt == []
    assert "apt-get install -y nodejs npm" in done.stderr


def test_make_leaves_an_installed_node_alone(tmp_path: Path) -> None:
    done, apt = ensure_node(tmp_path, uid=0, have=("node", "npm"))
    assert done.returncode == 0 and apt == []


def test_make_typecheck_ensures_node_before_npm_and_tsc() -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    # -n: print, do not run; -B: as on a fresh clone (nothing installed yet).
    done = subprocess.run(
        [make, "-n", "-B", "typecheck"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    ensure = [i for i, line in enumerate(lines) if "console-types/ensure-node.sh" in line]
    npm = next(i for i, line in enumerate(lines) if "npm ci" in line)
    tsc = next(i for i, line in enumerate(lines) if "bin/tsc" in line)
    assert ensure and ensure[0] < npm and any(npm < i < tsc for i in ensure), lines


def test_config_json_is_json_of_strings_only() -> None:
    assert json.loads(ConsoleConfig("http://a", "").as_json()) == {
        "ingest_url": "http://a",
        "metrics_url": "",
    }
