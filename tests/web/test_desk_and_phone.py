"""A staff member works a desk in the browser; the citizen's phone page follows live."""

from __future__ import annotations

from collections.abc import Callable

import requests
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.hubtools import LiveHub

from .webtools import assert_accessible, choose_desk, make_user, screenshot, sign_in


def issue(hub: LiveHub, service: str = "general") -> dict[str, object]:
    r = requests.post(
        f"{hub.url}/api/v1/tickets",
        json={"service": service},
        headers=hub.headers("kiosk"),
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def open_phone(context: BrowserContext, ticket: dict[str, object]) -> Page:
    page = context.new_page()
    page.goto(str(ticket["status_url"]))
    expect(page.locator("#live")).to_have_text("Updated live", timeout=5000)
    return page


def desk_calling(
    make_hub: Callable[[str], LiveHub],
    context: BrowserContext,
    service: str,
    desk_id: str,
    number: str,
) -> tuple[LiveHub, Page]:
    """A hub with one ticket of `service`, called by staff at `desk_id` from the panel."""
    hub = make_hub("")
    make_user(hub.config, "ana", "staff")
    issue(hub, service)
    page = context.new_page()
    sign_in(page, hub.url, "ana")
    choose_desk(page, desk_id)
    page.keyboard.press("n")
    expect(page.locator("#number")).to_have_text(number)
    return hub, page


def test_staff_calls_recalls_finishes_and_transfers_while_the_phone_follows(
    make_hub: Callable[[str], LiveHub], desk_context: BrowserContext, phone_context: BrowserContext
) -> None:
    hub = make_hub("")
    make_user(hub.config, "ana", "staff")
    first, second = issue(hub, "general"), issue(hub, "general")

    desk = desk_context.new_page()
    sign_in(desk, hub.url, "ana")
    expect(desk).to_have_url(f"{hub.url}/desk/choose")
    assert_accessible(desk)
    screenshot(desk, "desk-choose.png")
    choose_desk(desk, "1")
    expect(desk.locator("#queue-list li[data-service=general] .qcount")).to_have_text("2 waiting")

    phone = open_phone(phone_context, first)
    expect(phone.locator("#number")).to_have_text("A001")
    expect(phone.locator("#position")).to_have_text("You are next")
    assert_accessible(phone)
    screenshot(phone, "phone-waiting.png")
    other = open_phone(phone_context, second)
    expect(other.locator("#position")).to_have_text("1 people")

    # Next, by mouse: the phone hears the call and says where to go.
    desk.click("button[data-action=next]")
    expect(desk.locator("#number")).to_have_text("A001")
    expect(phone.locator("#call")).to_have_text("Go to Mostrador 1", timeout=3000)
    expect(phone.locator("#status")).to_have_text("You are called")
    expect(phone.locator("#cancel")).to_be_hidden()
    expect(other.locator("#position")).to_have_text("You are next", timeout=3000)
    assert_accessible(phone)
    screenshot(phone, "phone-called.png")
    assert_accessible(desk)
    screenshot(desk, "desk-1366x768.png")

    # Recall by keyboard shortcut.
    desk.keyboard.press("r")
    expect(phone.locator("#status")).to_have_text("You are called again", timeout=3000)
    # the panel ignores keys while an action is on its way: wait until Start is offered again
    expect(desk.locator("button[data-action=start]")).to_be_enabled()
    desk.keyboard.press("s")
    expect(phone.locator("#status")).to_have_text("Being served", timeout=3000)
    expect(desk.locator("#status")).to_have_text("Serving")

    # Transfer to taxes: the phone moves on to the new ticket's status page.
    desk.select_option("#transfer-to", "taxes")
    desk.click("button[data-action=transfer]")
    expect(desk.locator("#number")).to_have_text("—")
    expect(phone.locator("#service")).to_have_text("Taxes", timeout=5000)
    expect(phone.locator("#number")).to_have_text("A001")
    expect(phone.locator("#status")).to_have_text("Waiting")

    # The second ticket: called, started and finished with the keyboard.
    expect(desk.locator("button[data-action=next]")).to_be_enabled()
    desk.keyboard.press("n")
    expect(desk.locator("#number")).to_have_text("A002")
    expect(other.locator("#call")).to_have_text("Go to Mostrador 1", timeout=3000)
    expect(desk.locator("button[data-action=start]")).to_be_enabled()
    desk.keyboard.press("s")
    expect(desk.locator("#status")).to_have_text("Serving")
    expect(desk.locator("button[data-action=finish]")).to_be_enabled()
    desk.keyboard.press("f")
    expect(other.locator("#status")).to_have_text("Served. Thank you!", timeout=3000)
    expect(desk.locator("#number")).to_have_text("—")

    # Nobody left for desk 1's services (A001 waits in taxes, which desk 1 does not serve).
    expect(desk.locator("button[data-action=next]")).to_be_enabled()
    desk.keyboard.press("n")
    expect(desk.locator("#message")).to_have_text("Nobody is waiting.")


def test_desk_panel_fits_a_tablet_and_has_a_high_contrast_theme(
    make_hub: Callable[[str], LiveHub], browser_context_tablet: BrowserContext
) -> None:
    _, page = desk_calling(make_hub, browser_context_tablet, "taxes", "2", "C001")
    # Everything on screen without scrolling at 1024x600.
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 600, height
    for action in ("next", "recall", "start", "finish", "no-show", "transfer", "pause"):
        box = page.locator(f"button[data-action={action}]").bounding_box()
        assert box is not None and box["y"] + box["height"] <= 600 and box["height"] >= 44
    screenshot(page, "desk-1024x600.png")
    page.click(".theme-toggle")
    expect(page.locator("html")).to_have_class("hc")
    assert_accessible(page)
    screenshot(page, "desk-high-contrast.png")
    page.reload()  # remembered
    expect(page.locator("html")).to_have_class("hc")
    # Pause and resume toggle on one button.
    expect(page.locator("button[data-action=no-show]")).to_be_enabled()
    page.keyboard.press("x")
    expect(page.locator("#number")).to_have_text("—")
    expect(page.locator("button[data-action=pause]")).to_be_enabled()
    page.keyboard.press("p")
    expect(page.locator("#desk-state")).to_have_text("Desk paused")
    expect(page.locator("button[data-action=resume]")).to_be_visible()
    expect(page.locator("button[data-action=resume]")).to_be_enabled()
    page.keyboard.press("p")
    expect(page.locator("#desk-state")).to_have_text("Desk open")


def test_the_desk_panel_speaks_spanish(
    make_hub: Callable[[str], LiveHub], desk_context: BrowserContext
) -> None:
    hub = make_hub("")
    make_user(hub.config, "ana", "staff")
    page = desk_context.new_page()
    sign_in(page, hub.url, "ana")
    choose_desk(page, "1")
    page.click("a[hreflang=es]")
    expect(page.locator("button[data-action=next] .act-label")).to_have_text("Siguiente")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.keyboard.press("n")
    expect(page.locator("#message")).to_have_text("No espera nadie.")


def test_while_an_action_is_on_its_way_every_button_is_off_and_a_second_press_does_nothing(
    make_hub: Callable[[str], LiveHub], desk_context: BrowserContext
) -> None:
    hub, desk = desk_calling(make_hub, desk_context, "general", "1", "A001")
    expect(desk.locator("button[data-action=start]")).to_be_enabled()

    # By keyboard focus: the button pressed has the focus back once its action is done.
    desk.focus("button[data-action=recall]")
    desk.keyboard.press("Enter")
    expect(desk.locator("button[data-action=recall]")).to_be_enabled()
    expect(desk.locator("button[data-action=recall]")).to_be_focused()

    held: list[Route] = []

    def hold(route: Route) -> None:  # the request waits until let go
        held.append(route)

    desk.route("**/api/v1/desks/1/start*", hold)
    desk.keyboard.press("s")
    for action in ("start", "recall", "no-show", "pause"):
        expect(desk.locator(f"button[data-action={action}]")).to_be_disabled()
    for _ in range(50):
        if held:
            break
        desk.wait_for_timeout(100)
    assert len(held) == 1
    desk.keyboard.press("x")  # no-show while start is on its way: not sent
    held[0].continue_()
    desk.unroute("**/api/v1/desks/1/start*", hold)
    expect(desk.locator("#status")).to_have_text("Serving")
    expect(desk.locator("button[data-action=finish]")).to_be_enabled()
    expect(desk.locator("button[data-action=pause]")).to_be_enabled()
    ticket = requests.get(f"{hub.url}/api/v1/queue", headers=hub.headers("admin"), timeout=5)
    assert [d["current"]["status"] for d in ticket.json()["desks"] if d["id"] == "1"] == ["serving"]
