"""Helpers for the browser tests: staff users, sign-in, axe-core checks, screenshots."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
INSTALL_AXE = "npm install --prefix tests/web --no-audit --no-fund"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"


def make_user(config: Path, login: str, role: str, password: str = PASSWORD) -> None:
    """Insert a user straight into the hub's database (as `office360 user add` does)."""
    from hub import users_repo
    from hub.db import make_engine, migrate
    from hub.sessions import hash_password
    from tests.hubtools import database_url_for

    url = database_url_for(config)
    migrate(url)
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        users_repo.insert_user(
            conn,
            login=login,
            name=login.title(),
            role=role,
            office_id="centro",
            password_hash=hash_password(password),
            active=True,
            created_at=datetime.now(UTC),
        )
    engine.dispose()


def sign_in(page: Page, url: str, login: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/signin")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit].primary")


def choose_desk(page: Page, desk: str) -> None:
    page.click(f"button[name=desk][value='{desk}']")
    expect(page.locator("#live")).to_have_class("pill on", timeout=5000)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as it is now."""
    assert AXE.exists(), f"axe-core is missing: run `{INSTALL_AXE}`"
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    return found


def assert_accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert not violations, f"{page.url}: {violations}"


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))
