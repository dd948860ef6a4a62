"""The dashboard at /__mockverse/, driven in a real headless Chromium (Debian's ``chromium``,
through Playwright) against a real server process: what a user clicks changes what the API
serves, and the page never talks to anything but the server on loopback."""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def server(live_server):
    """A real `mockverse serve` process: a browser loads the dashboard over a real socket."""
    return live_server


ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
POLL_MS = 2000   # the dashboard's own poll interval (app.js)
VIEWPORTS = {"1280x800": {"width": 1280, "height": 800}, "390x844": {"width": 390, "height": 844}}


def _unavailable(message: str) -> None:
    """Under CI a missing browser is a failure (`make test` installs it); elsewhere a skip."""
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message)
    pytest.skip(message)


def _chromium() -> str:
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    _unavailable("chromium is not installed: apt-get install chromium (scripts/ci-deps.sh does it under CI)")
    raise AssertionError  # unreachable


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]' (then apt-get install chromium; "
                     "never `playwright install`)")
    executable = _chromium()
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)   # a busy machine is slow, not broken (as the pages' own timeout)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Dashboard:
    """One browser context on the dashboard, remembering every URL any of its pages requested."""

    def __init__(self, browser, server, viewport: str = "1280x800") -> None:
        self.server = server
        self.context = browser.new_context(viewport=VIEWPORTS[viewport])
        self.urls: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda request: self.urls.append(request.url))
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.set_default_timeout(60_000)   # a busy machine is slow, not broken

    def on_test_clock(self) -> None:
        """Put the page's timers on Playwright's clock (before the first load), for ``poll_now``."""
        self.page.clock.install()

    def poll_now(self) -> None:
        """Run the page's next poll at once (after ``on_test_clock``), so a change made outside the page
        shows without waiting out the poll interval."""
        self.page.clock.fast_forward(POLL_MS)

    def open(self, route: str, workspace: str):
        self.page.goto(f"{self.server.url}/__mockverse/#/{route}?ws={workspace}")
        return self.page

    def by(self, testid: str):
        return self.page.get_by_test_id(testid)

    def assert_stayed_on_loopback(self) -> None:
        assert len(self.urls) > 5, self.urls
        outside = [u for u in self.urls if urlsplit(u).scheme != "data" and urlsplit(u).hostname not in LOOPBACK]
        assert outside == [], f"the dashboard requested URLs off loopback: {outside}"
        assert self.errors == [], f"uncaught errors in the page: {self.errors}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def dashboard(browser, server):
    board = Dashboard(browser, server)
    yield board
    board.close()


def schema_pair(retyped: int, fields: int = 19) -> dict:
    """A mock and a real schema of ``fields`` integers with ``retyped`` of them strings in the mock:
    (fields + 1 - retyped) of the fields + 1 schema nodes agree, so 3 → 85%, 7 → 65%, 12 → 40%."""
    real = {"type": "object", "properties": {f"f{i}": {"type": "integer"} for i in range(fields)}}
    mock = {"type": "object", "properties": {f"f{i}": {"type": "string" if i < retyped else "integer"}
                                             for i in range(fields)}}
    return {"mock_schema": mock, "real_schema": real}


def headers(workspace: str) -> dict[str, str]:
    return {"X-Mockverse-Workspace": workspace}


def test_dashboard_is_served_from_the_package_and_named_in_the_startup_log(server):
    assert f"dashboard http://127.0.0.1:{server.port}/__mockverse/" in server.log()
    redirect = server.client.get("/__mockverse")
    assert redirect.status_code == 308 and redirect.headers["location"] == "/__mockverse/"
    page = server.client.get("/__mockverse/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assets = resources.files("mockverse") / "dashboard"
    for name in ("index.html", "app.js", "app.css", "favicon.svg"):
        served = server.client.get(f"/__mockverse/{name}")
        assert served.status_code == 200 and served.content == (assets / name).read_bytes()
        # Offline: no address anywhere but the SVG namespace, so nothing can be fetched from elsewhere.
        text = (assets / name).read_text("utf-8").replace("http://www.w3.org/2000/svg", "")
        assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I) == [], name
    assert server.client.get("/api/v1/requests", params={"path": "/__mockverse*"}).json()["count"] == 0


def test_fidelity_card_shows_the_score_in_its_colour_as_it_changes(dashboard, server):
    from playwright.sync_api import expect

    ws = "dash-fidelity"
    dashboard.on_test_clock()
    dashboard.open("fidelity", ws)
    overall = dashboard.by("fidelity-overall")
    expect(overall).to_have_text("–")
    expect(dashboard.by("fidelity-message")).to_contain_text("no fidelity score yet")

    # 0.795 (41 of 199 fields retyped) is shown as 79.5% in orange: the number agrees with its colour
    steps = ((12, 19, 0.4, "40%", "fidelity-low"), (7, 19, 0.65, "65%", "fidelity-medium"),
             (41, 199, 0.795, "79.5%", "fidelity-medium"), (3, 19, 0.85, "85%", "fidelity-high"))
    for retyped, fields, value, shown, colour in steps:
        response = server.client.post(f"/api/v1/workspace/{ws}/fidelity", json=schema_pair(retyped, fields))
        assert response.status_code == 200, f"the fidelity API must take a payload: {response.text}"
        assert response.json()["score"]["overall"] == value
        dashboard.poll_now()
        expect(overall).to_have_text(shown)  # picked up by the page's polling, no reload
        expect(overall).to_have_class(re.compile(rf"(^|\s){colour}(\s|$)"))

    expect(dashboard.by("driver-schema_similarity-value")).to_have_text("85%")
    expect(dashboard.by("driver-schema_similarity").locator(".fill")).to_have_class(re.compile("fidelity-high"))
    # Drivers without data say why instead of showing 0%.
    for driver in ("sample_similarity", "response_time_similarity", "error_pattern_similarity"):
        expect(dashboard.by(f"driver-{driver}-value")).to_have_text("n/a")
        expect(dashboard.by(f"driver-{driver}-reason")).to_contain_text("Not computed: no mock")
    expect(dashboard.by("fidelity-history").get_by_test_id("history-point")).to_have_count(4)
    expect(dashboard.by("fidelity-computed-at")).not_to_have_text("never")
    findings = dashboard.by("finding-row")
    expect(findings).to_have_count(3)
    expect(findings.first).to_contain_text("$.f0")
    expect(findings.first).to_contain_text("type-mismatch")

    # The button makes the same call users script, and shows its answer.
    with dashboard.page.expect_response(lambda r: r.url.endswith(f"/api/v1/workspace/{ws}/fidelity")
                                        and r.request.method == "POST") as posted:
        dashboard.by("fidelity-compute").click()
    assert posted.value.request.post_data_json == {"source": "traffic"}
    answer = posted.value.json()
    message = dashboard.by("fidelity-message")
    if posted.value.ok:
        expect(message).to_have_text("Computed from this workspace's traffic.")
    else:
        expect(message).to_contain_text(answer["detail"][:60])
    dashboard.assert_stayed_on_loopback()


def test_lifecycle_menu_changes_what_billing_serves(dashboard, server):
    from playwright.sync_api import expect

    ws = "dash-lifecycle"
    user = server.client.get("/users/7", headers=headers(ws)).json()
    dashboard.open("personas", ws)
    dashboard.by("persona-search").fill(user["last_name"])
    dashboard.page.locator('[data-testid="persona-result"][data-ref="user:7"]').click()
    expect(dashboard.by("persona-name")).to_have_text(user["name"])
    expect(dashboard.by("persona-state")).to_have_text(user["lifecycle_state"])

    # Each node of the graph opens that entity's JSON.
    order = dashboard.page.locator('[data-testid="graph-node"][data-ref^="order:"]').first
    ref = order.get_attribute("data-ref")
    order.locator("circle").click()
    expect(dashboard.by("entity-title")).to_have_text(ref)
    expect(dashboard.by("entity-json")).to_contain_text(f'"id": {ref.split(":")[1]}')
    expect(dashboard.by("entity-json")).to_contain_text('"user_id": 7')

    for target, expected in (("Churned", {"billing_status": "cancelled", "outstanding_balance": 0.0}),
                             ("NewSignup", {"billing_status": "trial", "subscription_type": "free_tier"}),
                             ("ChurnRisk", {"billing_status": "active", "discount_offer_available": True})):
        dashboard.by("lifecycle-select").select_option(target)
        dashboard.by("lifecycle-apply").click()
        expect(dashboard.by("persona-state")).to_have_text(target)
        billing = server.client.get("/users/7/billing", headers=headers(ws)).json()
        assert {key: billing.get(key) for key in expected} == expected, billing
    history = dashboard.by("history-entry")
    expect(history.last).to_contain_text("ChurnRisk")
    dashboard.assert_stayed_on_loopback()


def test_reality_slider_sets_the_ratio_of_the_next_response(dashboard, server):
    from playwright.sync_api import expect

    ws = "dash-reality"
    settings = server.client.get("/api/v1/reality", headers=headers(ws))
    assert settings.status_code == 200, f"the dashboard's slider needs GET/PUT /api/v1/reality: {settings.text}"
    first = server.client.get("/users/1", headers=headers(ws))
    assert float(first.headers["X-Mockverse-Reality"]) == 0
    dashboard.open("reality", ws)
    slider = dashboard.by("reality-slider")
    expect(slider).to_be_enabled()
    expect(dashboard.by("reality-message")).to_be_hidden()

    with dashboard.page.expect_response(lambda r: r.url.endswith("/api/v1/reality") and r.request.method == "PUT"
                                        and r.request.post_data_json.get("default_ratio") == 0.2) as put:
        slider.focus()
        for _ in range(4):  # 4 steps of 0.05, as a keyboard user moves it
            slider.press("ArrowRight")
    assert put.value.status == 200, put.value.text()
    expect(dashboard.by("reality-ratio")).to_have_text("0.20")
    expect(dashboard.by("reality-band")).to_have_text("synthetic band")
    after = server.client.get("/users/1", headers=headers(ws))
    assert float(after.headers["X-Mockverse-Reality"]) == 0.2

    # A route rule added in the table applies to its paths only.
    dashboard.by("reality-add-route").click()
    dashboard.by("route-pattern").last.fill("/orders/*")
    dashboard.by("route-ratio").last.fill("0.1")
    with dashboard.page.expect_response(
        lambda r: r.url.endswith("/api/v1/reality") and r.request.method == "PUT"
    ) as put:
        dashboard.by("reality-save-routes").click()
    assert put.value.status == 200, put.value.text()
    assert float(server.client.get("/orders/1001", headers=headers(ws)).headers["X-Mockverse-Reality"]) == 0.1
    assert float(server.client.get("/users/1", headers=headers(ws)).headers["X-Mockverse-Reality"]) == 0.2

    # The journal: share by source, and rows that open their trace.
    expect(dashboard.by("share-synthetic")).to_be_visible()
    rows = dashboard.by("request-row")
    expect(rows.first).to_contain_text("GET /users/1")
    rows.first.click()
    expect(dashboard.by("trace-panel")).to_be_visible()
    expect(dashboard.by("trace-facts")).to_contain_text("GET /users/{id} · ratio 0.2 from the default")
    expect(dashboard.by("trace-source")).to_have_text("synthetic")
    expect(dashboard.by("trace-row").first).to_contain_text("0.2")
    dashboard.assert_stayed_on_loopback()


def test_advancing_the_clock_grows_the_persona_history(dashboard, server):
    from playwright.sync_api import expect

    ws = "dash-clock"
    dashboard.open("personas/user:9", "default")
    dashboard.by("workspace-input").fill(ws)  # the switcher moves the page to another workspace
    dashboard.by("workspace-input").press("Enter")
    expect(dashboard.page).to_have_url(re.compile(f"ws={ws}$"))
    start = server.client.get("/api/v1/consistency/clock", headers=headers(ws)).json()["now"]
    dashboard.by("lifecycle-select").select_option("NewSignup")
    dashboard.by("lifecycle-apply").click()
    expect(dashboard.by("persona-state")).to_have_text("NewSignup")
    before = len(server.client.get("/api/v1/consistency/persona/user:9/lifecycle", headers=headers(ws))
                 .json()["history"])
    expect(dashboard.by("history-entry")).to_have_count(before)

    dashboard.by("nav-clock").click()
    expect(dashboard.by("clock-now")).to_have_text(_shown(start))
    expect(dashboard.by("clock-persona-state")).to_have_text("NewSignup")
    dashboard.by("clock-by").fill("7d")
    dashboard.by("clock-advance").click()
    expect(dashboard.by("clock-message")).to_contain_text("Advanced by 7d")
    now = server.client.get("/api/v1/consistency/clock", headers=headers(ws)).json()["now"]
    assert (datetime.fromisoformat(now) - datetime.fromisoformat(start)).days == 7
    expect(dashboard.by("clock-now")).to_have_text(_shown(now))
    expect(dashboard.by("clock-persona-state")).to_have_text("Active")  # NewSignup → Active after 7 days

    dashboard.by("nav-personas").click()
    expect(dashboard.by("persona-ref")).to_have_text("user:9")
    expect(dashboard.by("history-entry")).to_have_count(before + 1)
    expect(dashboard.by("history-entry").last).to_contain_text("Active")
    expect(dashboard.by("persona-state")).to_have_text("Active")

    dashboard.by("nav-clock").click()
    dashboard.by("clock-reset").click()
    expect(dashboard.by("clock-message")).to_contain_text("Reset")
    reset = server.client.get("/api/v1/consistency/clock", headers=headers(ws)).json()["now"]
    expect(dashboard.by("clock-now")).to_have_text(_shown(reset))
    dashboard.assert_stayed_on_loopback()


def test_changes_ask_for_the_admin_token_when_the_server_has_one(browser, start_server):
    from playwright.sync_api import expect

    server = start_server(env={"MOCKVERSE_ADMIN_TOKEN": "s3cret-token"})
    board = Dashboard(browser, server)
    try:
        board.open("personas/user:3", "dash-token")
        expect(board.by("persona-state")).not_to_be_empty()
        board.by("lifecycle-select").select_option("PowerUser")
        board.by("lifecycle-apply").click()
        expect(board.by("token-bar")).to_be_visible()
        expect(board.by("persona-message")).to_contain_text("Authorization: Bearer")
        board.by("token-input").fill("s3cret-token")
        board.by("token-input").press("Enter")
        expect(board.by("token-bar")).to_be_hidden()
        board.by("lifecycle-apply").click()
        expect(board.by("persona-state")).to_have_text("PowerUser")
        support = server.client.get("/users/3/support", headers=headers("dash-token")).json()
        assert support["support_tier"] == "priority"
        board.assert_stayed_on_loopback()
    finally:
        board.close()


def _shown(iso: str) -> str:
    """How the dashboard prints a virtual time: UTC, to the second."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_page_fits_the_viewport_and_stays_on_loopback(browser, server, viewport):
    from playwright.sync_api import expect

    ws = "dash-shots"
    client = server.client
    if not client.get(f"/api/v1/workspace/{ws}/fidelity").is_success:
        for retyped in (12, 7):
            client.post(f"/api/v1/workspace/{ws}/fidelity", json=schema_pair(retyped))
        client.post(f"/api/v1/workspace/{ws}/fidelity", json={
            **schema_pair(2), "mock_response_times": [20 + i % 17 for i in range(60)],
            "real_response_times": [24 + i % 23 for i in range(60)],
            "mock_error_patterns": {"200": 97, "500": 3}, "real_error_patterns": {"200": 95, "500": 4, "503": 1}})
        client.put("/api/v1/reality", headers=headers(ws),
                   json={"default_ratio": 0.4, "routes": [{"pattern": "/users/*", "ratio": 0.15}]})
        for path in ("/users/5", "/users/5/orders", "/orders/5001", "/users/5/billing", "/orders/5001/payments"):
            client.get(path, headers=headers(ws))
    width = VIEWPORTS[viewport]["width"]
    board = Dashboard(browser, server, viewport)
    try:
        pages = {
            "fidelity": ("fidelity", lambda: expect(board.by("fidelity-overall")).to_have_text(re.compile(r"\d+%"))),
            "personas": ("personas/user:5", lambda: _open_a_node(board)),
            "clock": ("clock", lambda: expect(board.by("clock-now")).to_have_text(re.compile("UTC"))),
            "reality": ("reality", lambda: _open_a_trace(board)),
        }
        ARTIFACTS.mkdir(exist_ok=True)
        for name, (route, ready) in pages.items():
            page = board.open(route, ws)
            expect(board.by(f"page-{name}")).to_be_visible()
            ready()
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-{viewport}.png"), full_page=True,
                            animations="disabled")   # bars and chart shown as their transitions end
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, f"{name} at {viewport} scrolls sideways ({overflow}px wide)"
        board.assert_stayed_on_loopback()
    finally:
        board.close()


def _open_a_node(board: Dashboard) -> None:
    from playwright.sync_api import expect

    node = board.page.locator('[data-testid="graph-node"][data-ref="order:5001"]')
    node.locator("circle").click()
    expect(board.by("entity-json")).to_contain_text('"id": 5001')


def _open_a_trace(board: Dashboard) -> None:
    from playwright.sync_api import expect

    board.by("request-row").first.click()
    expect(board.by("trace-panel")).to_be_visible()
