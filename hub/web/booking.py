"""The citizen's booking pages: /book (service → day → time → details → confirm) and
/book/manage/{id} (confirmation with QR, .ics, video link, cancel and reschedule).

Plain HTML forms and links: every step works without JavaScript, with the keyboard and a
screen reader. Writes go through the same use cases as the API (AppointmentService).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from office360.core.errors import DomainError

from ..api.deps import State
from ..appointments_service import AppointmentService, citizen_messages
from . import SECURITY_HEADERS, templates
from .booking_text import LANGS, TEXT, error_text, long_date
from .common import LANG_COOKIE, THEME_COOKIE, low_reach, secure
from .i18n import pick_language

router = APIRouter(include_in_schema=False)

Lang = Annotated[str | None, Query(max_length=8)]
Param = Annotated[str | None, Query(max_length=64)]
AppointmentId = Annotated[int, Path(ge=1, le=2**53)]
_FIELDS = ("name", "email", "phone")


def _appts(request: Request) -> AppointmentService:
    return request.app.state.appointments  # type: ignore[no-any-return]


def pick_lang(request: Request, asked: str | None, preferred: str | None = None) -> str:
    """As the other pages: ?lang= (or the form's lang), the o360_lang cookie, then `preferred`
    (an appointment's own language), the browser's Accept-Language, then Spanish."""
    cookie = request.cookies.get(LANG_COOKIE)
    if preferred in LANGS and asked not in LANGS and cookie not in LANGS:
        return preferred  # type: ignore[return-value]
    lang = pick_language(asked, cookie, request.headers.get("accept-language"))
    return lang if lang in LANGS else LANGS[0]


def _render(
    request: Request,
    name: str,
    lang: str,
    context: dict[str, Any],
    status: int = 200,
    private: bool = False,
    keep: dict[str, str] | None = None,
) -> HTMLResponse:
    """`keep`: the query the language switch carries, when it is not this request's own (a
    re-rendered form after a POST keeps the citizen's service, day and slot)."""
    query = request.query_params.items() if keep is None else keep.items()
    params = {k: v for k, v in query if k != "lang"}
    other = "en" if lang == "es" else "es"
    appts = _appts(request)
    office = appts.hub.office(None)
    ctx = {
        "lang": lang,
        "T": TEXT[lang],
        "office_name": office.name,
        "switch_url": f"{request.url.path}?{urlencode({**params, 'lang': other})}",
        "switch_lang": other,
        "high_contrast": request.cookies.get(THEME_COOKIE) == "hc",
        "low_reach": low_reach(request),
        **context,
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    asked = request.query_params.get("lang")
    if asked == lang and request.cookies.get(LANG_COOKIE) != lang:  # remembered, as elsewhere
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=secure(request)
        )
    if private:
        response.headers["Cache-Control"] = "no-store"
    return response


def _url(path: str, **params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(clean)}" if clean else path


def _service_name(names: dict[str, str], lang: str) -> str:
    return names.get(lang) or next(iter(names.values()), "")


# --- booking -------------------------------------------------------------------------------------


@router.get("/book", response_class=HTMLResponse)
async def book_page(
    request: Request,
    state: State,
    lang: Lang = None,
    service: Param = None,
    day: Param = None,
    slot: Param = None,
    reschedule: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    t: Param = None,
) -> Response:
    lang = pick_lang(request, lang)
    appts = _appts(request)
    T = TEXT[lang]
    try:
        services = appts.bookable_services(None)
    except DomainError:
        return _render(
            request,
            "book_message.html",
            lang,
            {"heading": T["disabled_title"], "lead": T["disabled_lead"]},
            404,
        )
    moving = None
    if reschedule is not None:
        try:
            moving = await state.run(appts.read, reschedule, None, t)
        except DomainError:
            return _not_found(request, lang)
        service = moving["service"]
    chosen = next((s for s in services if s["id"] == service), None)
    keep = {"lang": lang, "reschedule": reschedule, "t": t if moving else None}
    if chosen is None:
        return _render(
            request,
            "book_services.html",
            lang,
            {
                "step": 1,
                "services": [
                    {
                        "name": _service_name(s["names"], lang),
                        "url": _url("/book", service=s["id"], **keep),
                    }
                    for s in services
                ],
            },
        )
    base = {"service": chosen["id"], **keep}
    service_name = _service_name(chosen["names"], lang)
    summary = {
        "service_name": service_name,
        "moving": moving,
        "change_service_url": None if moving else _url("/book", **keep),
    }
    parsed_day = _parse_day(day)
    if parsed_day is None:
        days = await state.run(appts.days, None, chosen["id"])
        return _render(
            request,
            "book_days.html",
            lang,
            {
                "step": 2,
                **summary,
                "days": [
                    {
                        "label": long_date(d, lang),
                        "free": T["free_slot_one"] if n == 1 else T["free_slots"].format(n=n),
                        "url": _url("/book", day=d.isoformat(), **base),
                    }
                    for d, n in days
                ],
            },
        )
    try:
        listing = await state.run(appts.slots, None, chosen["id"], parsed_day)
    except DomainError:
        return _render(
            request,
            "book_message.html",
            lang,
            {
                "heading": T["error_title"],
                "lead": error_text("day_out_of_range", lang),
                "back_url": _url("/book", **base),
            },
            422,
        )
    summary |= {"day_label": long_date(parsed_day, lang), "change_day_url": _url("/book", **base)}
    chosen_slot = next((s for s in listing["slots"] if s["start"] == slot and s["free"]), None)
    if chosen_slot is None:
        return _render(
            request,
            "book_slots.html",
            lang,
            {
                "step": 3,
                **summary,
                "slots": [
                    {
                        "time": s["time"],
                        "free": s["free"] > 0,
                        "url": _url("/book", day=parsed_day.isoformat(), slot=s["start"], **base),
                    }
                    for s in listing["slots"]
                ],
                "taken_notice": error_text("slot_full", lang) if slot else None,
            },
        )
    form = {"service": chosen["id"], "slot": chosen_slot["start"], "lang": lang}
    if moving:
        return _render(
            request,
            "book_reschedule.html",
            lang,
            {
                "step": 4,
                **summary,
                "time": chosen_slot["time"],
                "form": form,
                "action": f"/book/manage/{moving['id']}/reschedule",
                "t": t,
            },
            private=True,
        )
    return _render(
        request,
        "book_details.html",
        lang,
        {
            "step": 4,
            **summary,
            "time": chosen_slot["time"],
            "form": form,
            "values": {},
            "errors": {},
            "video": chosen["video"],
            "back_url": _url("/book", day=parsed_day.isoformat(), **base),
        },
    )


@router.post("/book", response_class=HTMLResponse)
async def book_submit(request: Request, state: State) -> Response:
    form = await request.form()
    data = {k: str(form.get(k, ""))[:300] for k in ("service", "slot", "lang", *_FIELDS)}
    lang = pick_lang(request, data["lang"])
    appts = _appts(request)
    slot_at = _parse_instant(data["slot"])
    req = {
        "service": data["service"][:40],
        "slot_at": slot_at,
        "name": data["name"],
        "email": data["email"],
        "phone": data["phone"],
        "video": form.get("video") == "yes",
        "lang": lang,
        "channel": "web",
        "office": None,
    }
    svc = state.service
    try:
        if slot_at is None:
            raise DomainError("slot_unknown", "no such slot")
        outcome = await state.write(
            lambda: svc.run_write(
                "appointments:page",
                None,
                "",
                lambda conn, events: appts.book(conn, events, None, req),
            )
        )
    except DomainError as exc:
        return await _details_again(request, state, lang, data, bool(req["video"]), exc.code)
    body = outcome.body or {}
    return RedirectResponse(
        _url(
            f"/book/manage/{body['id']}",
            t=body["manage_url"].split("?t=")[1],
            lang=lang,
            done="booked",
        ),
        status_code=303,
    )


async def _details_again(
    request: Request, state: State, lang: str, data: dict[str, str], video: bool, code: str
) -> Response:
    """The details form again with the problem next to its field (or on top)."""
    appts = _appts(request)
    T = TEXT[lang]
    services = appts.bookable_services(None)
    chosen = next((s for s in services if s["id"] == data["service"]), None)
    slot_at = _parse_instant(data["slot"])
    if chosen is None or slot_at is None:
        return _render(
            request,
            "book_message.html",
            lang,
            {
                "heading": T["error_title"],
                "lead": error_text(code, lang),
                "back_url": "/book",
            },
            422,
        )
    field = code.split("_")[0] if code.split("_")[0] in _FIELDS else None
    errors = {field: error_text(code, lang)} if field else {}
    day = slot_at.astimezone(_zone(appts)).date()
    base = {"service": chosen["id"], "lang": lang}
    if not field:  # the slot went (full, past): back to the times, with the reason on top
        return RedirectResponse(
            _url("/book", day=day.isoformat(), slot=data["slot"], **base), status_code=303
        )
    return _render(
        request,
        "book_details.html",
        lang,
        {
            "step": 4,
            "service_name": _service_name(chosen["names"], lang),
            "day_label": long_date(day, lang),
            "time": slot_at.astimezone(_zone(appts)).strftime("%H:%M"),
            "form": {"service": chosen["id"], "slot": data["slot"], "lang": lang},
            "values": {k: data[k] for k in _FIELDS} | {"video": video},
            "errors": errors,
            "video": chosen["video"],
            "change_service_url": _url("/book", lang=lang),
            "change_day_url": _url("/book", **base),
            "back_url": _url("/book", day=day.isoformat(), **base),
        },
        422,
        keep={"service": chosen["id"], "day": day.isoformat(), "slot": data["slot"]},
    )


# --- confirmation and management --------------------------------------------------------------


@router.get("/book/manage/{appointment_id}", response_class=HTMLResponse)
async def manage_page(
    request: Request,
    state: State,
    appointment_id: AppointmentId,
    t: Param = None,
    lang: Lang = None,
    done: Param = None,
) -> Response:
    appts = _appts(request)
    try:
        appt = await state.run(appts.read, appointment_id, None, t)
    except DomainError:
        return _not_found(request, pick_lang(request, lang))
    lang = pick_lang(request, lang, appt["lang"])
    T = TEXT[lang]
    day = date.fromisoformat(appt["local_day"])
    heading, lead = T["done_title"], T["done_lead"]
    if appt["status"] == "cancelled":
        heading, lead = T["cancelled_title"], T["cancelled_lead"]
    elif appt["status"] == "checked_in":
        heading, lead = T["checked_in_title"], T["checked_in_lead"]
    elif done == "moved":
        lead = T["moved_lead"]
    return _render(
        request,
        "book_manage.html",
        lang,
        {
            "appt": appt,
            "heading": heading,
            "lead": lead,
            "service_name": _service_name(appt["service_names"], lang),
            "day_label": long_date(day, lang),
            "qr_alt": T["qr_alt"].format(day=long_date(day, lang), time=appt["local_time"]),
            "manage_url": appt["manage_url"],
            "t": t,
            "reschedule_url": _url("/book", reschedule=appt["id"], t=t, lang=lang),
            "book_again_url": _url("/book", lang=lang),
        },
        private=True,
    )


@router.post("/book/manage/{appointment_id}/cancel")
async def manage_cancel(request: Request, state: State, appointment_id: AppointmentId) -> Response:
    form = await request.form()
    token = str(form.get("t", ""))[:64]
    lang = pick_lang(request, str(form.get("lang", "")))
    appts = _appts(request)
    svc = state.service
    if form.get("sure") != "yes":  # the confirmation box was not ticked: nothing happens
        return RedirectResponse(
            _url(f"/book/manage/{appointment_id}", t=token, lang=lang), status_code=303
        )
    try:
        await state.write(
            lambda: svc.run_write(
                "appointments:page",
                None,
                "",
                lambda conn, events: appts.cancel(conn, events, appointment_id, None, token),
            )
        )
    except DomainError as exc:
        if exc.code == "appointment_unknown":
            return _not_found(request, lang)
    return RedirectResponse(
        _url(f"/book/manage/{appointment_id}", t=token, lang=lang), status_code=303
    )


@router.post("/book/manage/{appointment_id}/join")
async def manage_join(request: Request, state: State, appointment_id: AppointmentId) -> Response:
    """A video appointment joins the queue; the citizen follows the ticket's status page."""
    form = await request.form()
    token = str(form.get("t", ""))[:64]
    lang = pick_lang(request, str(form.get("lang", "")))
    appts = _appts(request)
    svc = state.service
    try:
        outcome = await state.write(
            lambda: svc.run_write(
                "appointments:page",
                None,
                "",
                lambda conn, events: appts.join_video(
                    conn, events, appointment_id, None, token, lang
                ),
            )
        )
    except DomainError as exc:
        if exc.code == "appointment_unknown":
            return _not_found(request, lang)
        sentences = citizen_messages(exc.code) or {}
        return _render(
            request,
            "book_message.html",
            lang,
            {
                "heading": TEXT[lang]["video_join"],
                "lead": sentences.get(lang) or exc.message,
                "back_url": _url(f"/book/manage/{appointment_id}", t=token, lang=lang),
            },
            status=409,
            private=True,
        )
    assert outcome.body is not None
    return RedirectResponse(outcome.body["ticket"]["status_url"], status_code=303)


@router.post("/book/manage/{appointment_id}/reschedule")
async def manage_reschedule(
    request: Request, state: State, appointment_id: AppointmentId
) -> Response:
    form = await request.form()
    token = str(form.get("t", ""))[:64]
    lang = pick_lang(request, str(form.get("lang", "")))
    slot_at = _parse_instant(str(form.get("slot", ""))[:64])
    appts = _appts(request)
    svc = state.service
    try:
        if slot_at is None:
            raise DomainError("slot_unknown", "no such slot")
        await state.write(
            lambda: svc.run_write(
                "appointments:page",
                None,
                "",
                lambda conn, events: appts.reschedule(
                    conn, events, appointment_id, None, token, slot_at
                ),
            )
        )
    except DomainError as exc:
        if exc.code == "appointment_unknown":
            return _not_found(request, lang)
        return _render(
            request,
            "book_message.html",
            lang,
            {
                "heading": TEXT[lang]["error_title"],
                "lead": error_text(exc.code, lang),
                "back_url": _url("/book", reschedule=appointment_id, t=token, lang=lang),
            },
            409,
            private=True,
        )
    return RedirectResponse(
        _url(f"/book/manage/{appointment_id}", t=token, lang=lang, done="moved"), status_code=303
    )


def _not_found(request: Request, lang: str) -> Response:
    T = TEXT[lang]
    return _render(
        request,
        "book_message.html",
        lang,
        {
            "heading": T["not_found_title"],
            "lead": T["not_found_lead"],
            "back_url": "/book",
        },
        404,
        private=True,
    )


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _parse_instant(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _zone(appts: AppointmentService) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(appts.hub.office(None).timezone)
