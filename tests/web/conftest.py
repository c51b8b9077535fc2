"""Real Chromium (Debian's, through Playwright) against real hubs on loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from tests.appointments.conftest import APPOINTMENTS
from tests.hubtools import FakeClock, LiveHub, ThreadHub, free_port, live_hub_in, write_config

from .webtools import CHROMIUM_ARGS

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium"
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def _context(browser: Browser, **options: object) -> Iterator[BrowserContext]:
    # bypass_csp: axe-core is injected as an inline script, which the pages' CSP forbids.
    context = browser.new_context(bypass_csp=True, locale="en-GB", **options)  # type: ignore[arg-type]
    yield context
    context.close()


@pytest.fixture
def desk_context(browser: Browser) -> Iterator[BrowserContext]:
    """A staff PC screen (1366x768)."""
    yield from _context(browser, viewport={"width": 1366, "height": 768})


@pytest.fixture
def phone_context(browser: Browser) -> Iterator[BrowserContext]:
    """A low-end phone (360x740, touch)."""
    yield from _context(
        browser,
        viewport={"width": 360, "height": 740},
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )


@pytest.fixture
def make_hub(tmp_path: Path) -> Iterator[Callable[[str], LiveHub]]:
    """Start `office360 hub` in a subprocess with extra TOML appended to the test config."""
    started: list[Iterator[LiveHub]] = []

    def start(extra: str = "") -> LiveHub:
        folder = tmp_path / f"hub{len(started)}"
        folder.mkdir()
        runner = live_hub_in(folder, extra)
        started.append(runner)
        return next(runner)

    yield start
    for runner in started:
        next(runner, None)


@pytest.fixture
def browser_context_tablet(browser: Browser) -> Iterator[BrowserContext]:
    """A 7-inch tablet (1024x600, touch)."""
    yield from _context(browser, viewport={"width": 1024, "height": 600}, has_touch=True)


@pytest.fixture
def browser_context_factory(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:
    """Fresh phones (own cookies), closed at the end of the test."""
    made: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(
            bypass_csp=True, locale="en-GB", viewport={"width": 360, "height": 740}
        )
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def phone_390(browser: Browser) -> Iterator[BrowserContext]:
    """A common phone (390x844, touch)."""
    yield from _context(browser, viewport={"width": 390, "height": 844}, has_touch=True)


@pytest.fixture
def desk_1280(browser: Browser) -> Iterator[BrowserContext]:
    """A desk screen (1280x800)."""
    yield from _context(browser, viewport={"width": 1280, "height": 800})


@pytest.fixture
def appt_hub(tmp_path: Path) -> Iterator[ThreadHub]:
    """The hub in a thread, taking appointments (tests/appointments' configuration), on a fake
    clock at Monday 2 March 2026, 09:30 in Madrid."""
    port = free_port()
    hub = ThreadHub(
        write_config(tmp_path, port, APPOINTMENTS.format(late="walk_in")), port, FakeClock()
    )
    hub.start()
    yield hub
    hub.stop()
