"""The managers' dashboard at /admin/dashboard: KPIs of a date range with SVG charts, a before/after
comparison of two periods, CSV export, and the what-if planner. Spanish and English.

Authorised like the API (`Authorization: Bearer` of a manager or admin token, or a signed-in
manager's session cookie). Every control is a GET form: the page changes nothing, so it needs no
CSRF token and works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from office360.config import OfficeSettings, Settings
from office360.core.errors import DomainError
from office360.core.kpi import GroupKpi, KpiReport, ServiceLevel, compare
from office360.core.numbering import local_day

from .. import planner
from ..api.deps import MaybeCaller
from ..api.reports import (
    MANAGERS,
    build_report,
    feedback_summary,
    in_worker,
    report_engine,
    timezones,
)
from ..reports_repo import MAX_DAYS, days_with_tickets, load_kpis
from .common import language, redirect, render, service_name, settings
from .svg_charts import Series, bar_chart, line_chart

router = APIRouter(include_in_schema=False)

TEXT: dict[str, dict[str, str]] = {
    "es": {
        "title": "Resultados",
        "admin": "Administración",
        "range": "Periodo",
        "from": "Desde",
        "to": "Hasta",
        "show": "Ver",
        "office": "Oficina",
        "target": "Objetivo de espera (min)",
        "csv": "Exportar CSV",
        "json": "JSON",
        "issued": "Números emitidos",
        "mean_wait": "Espera media",
        "p90_wait": "Espera p90",
        "median_wait": "Espera mediana",
        "within": "Atendidos dentro del objetivo",
        "service_time": "Tiempo de atención medio",
        "no_show": "No presentados",
        "transfers": "Transferencias",
        "arrival": "Llamada → llegada",
        "rating": "Valoración media",
        "ratings": "valoraciones",
        "punctuality": "Citas puntuales",
        "min": "min",
        "s": "s",
        "none": "Sin datos en este periodo.",
        "per_day": "Números por día",
        "per_day_desc": "Barras: números emitidos cada día del periodo.",
        "wait_day": "Espera por día",
        "wait_day_desc": "Líneas: espera media y p90 de cada día, en minutos; la línea roja es el objetivo.",
        "wait_hour": "Espera por hora del día",
        "wait_hour_desc": "Barras: espera media y p90 según la hora de emisión, en minutos.",
        "channels": "Canales",
        "channels_desc": "Barras: parte de los números por canal, en porcentaje.",
        "walk_in": "Sin cita",
        "appointment": "Cita",
        "phone": "Teléfono",
        "web": "Web",
        "stars": "Valoraciones de la ciudadanía",
        "stars_desc": "Barras: número de valoraciones de 1 a 5 estrellas.",
        "services": "Por servicio",
        "desks": "Por mostrador",
        "service": "Servicio",
        "desk": "Mostrador",
        "served": "Atendidos",
        "no_desk": "(sin mostrador)",
        "data": "Ver los datos",
        "compare": "Antes y después",
        "compare_note": "Compare dos periodos, por ejemplo antes y después de un cambio.",
        "period_a": "Periodo A (antes)",
        "period_b": "Periodo B (después)",
        "metric": "Indicador",
        "change": "Cambio",
        "compare_chart": "Espera media por servicio, A y B",
        "compare_desc": "Barras: espera media de cada servicio en el periodo A (lisas) y B (rayadas), en minutos.",
        "plan": "Planificador: ¿y si…?",
        "plan_note": "Simule un día real o uno sintético con otros mostradores o más citas.",
        "plan_desks": "Mostradores (cada uno atiende todos los servicios)",
        "plan_share": "Parte de las personas sin cita que vendrían con cita (%)",
        "plan_day": "Día real a repetir",
        "plan_synthetic": "o un día sintético",
        "plan_rate": "Llegadas por hora",
        "plan_service": "Minutos de atención por persona",
        "plan_hours": "Horario",
        "plan_run": "Simular",
        "plan_result": "Resultado de la simulación",
        "plan_chart": "Espera simulada por servicio",
        "plan_chart_desc": "Barras: espera media y p90 simuladas de cada servicio, en minutos.",
        "plan_arrivals": "Llegadas",
        "plan_actual": "Espera media real ese día",
        "plan_utilisation": "Ocupación",
        "plan_max_queue": "Cola máxima",
        "all": "Todas",
        "mean": "media",
        "p90": "p90",
        "objective": "objetivo",
        "points": "p.p.",
        "error": "No se pudo calcular: {reason}",
    },
    "en": {
        "title": "Results",
        "admin": "Administration",
        "range": "Period",
        "from": "From",
        "to": "To",
        "show": "Show",
        "office": "Office",
        "target": "Waiting target (min)",
        "csv": "Export CSV",
        "json": "JSON",
        "issued": "Tickets issued",
        "mean_wait": "Mean wait",
        "p90_wait": "90th percentile wait",
        "median_wait": "Median wait",
        "within": "Served within target",
        "service_time": "Mean service time",
        "no_show": "No-shows",
        "transfers": "Transfers",
        "arrival": "Call → arrival",
        "rating": "Mean rating",
        "ratings": "ratings",
        "punctuality": "Appointments on time",
        "min": "min",
        "s": "s",
        "none": "No data in this period.",
        "per_day": "Tickets per day",
        "per_day_desc": "Bars: tickets issued on each day of the period.",
        "wait_day": "Wait per day",
        "wait_day_desc": "Lines: mean and 90th percentile wait of each day, in minutes; the red line is the target.",
        "wait_hour": "Wait by hour of day",
        "wait_hour_desc": "Bars: mean and 90th percentile wait by hour of issue, in minutes.",
        "channels": "Channels",
        "channels_desc": "Bars: share of tickets per channel, in per cent.",
        "walk_in": "Walk-in",
        "appointment": "Appointment",
        "phone": "Phone",
        "web": "Web",
        "stars": "Citizens' ratings",
        "stars_desc": "Bars: number of ratings from 1 to 5 stars.",
        "services": "By service",
        "desks": "By desk",
        "service": "Service",
        "desk": "Desk",
        "served": "Served",
        "no_desk": "(no desk)",
        "data": "Show the data",
        "compare": "Before and after",
        "compare_note": "Compare two periods, for example before and after a change.",
        "period_a": "Period A (before)",
        "period_b": "Period B (after)",
        "metric": "Measure",
        "change": "Change",
        "compare_chart": "Mean wait per service, A and B",
        "compare_desc": "Bars: mean wait of each service in period A (plain) and B (hatched), in minutes.",
        "plan": "Planner: what if…?",
        "plan_note": "Simulate a real or a synthetic day with other desks or more appointments.",
        "plan_desks": "Desks (each serves every service)",
        "plan_share": "Share of walk-ins who would come by appointment (%)",
        "plan_day": "Real day to replay",
        "plan_synthetic": "or a synthetic day",
        "plan_rate": "Arrivals per hour",
        "plan_service": "Minutes of service per person",
        "plan_hours": "Opening hours",
        "plan_run": "Simulate",
        "plan_result": "Simulation result",
        "plan_chart": "Simulated wait per service",
        "plan_chart_desc": "Bars: simulated mean and 90th percentile wait of each service, in minutes.",
        "plan_arrivals": "Arrivals",
        "plan_actual": "Actual mean wait that day",
        "plan_utilisation": "Utilisation",
        "plan_max_queue": "Longest queue",
        "all": "All",
        "mean": "mean",
        "p90": "p90",
        "objective": "target",
        "points": "pp",
        "error": "Could not compute: {reason}",
    },
}
COMPARED = (
    ("issued", "issued", "count"),
    ("wait_mean_s", "mean_wait", "minutes"),
    ("wait_p90_s", "p90_wait", "minutes"),
    ("within_target_share", "within", "percent"),
    ("service_mean_s", "service_time", "minutes"),
    ("no_show_rate", "no_show", "percent"),
)


def texts(lang: str) -> Callable[..., str]:
    table = TEXT.get(lang, TEXT["es"])

    def d(key: str, **values: object) -> str:
        text = table.get(key) or TEXT["es"].get(key) or key
        return text.format(**values) if values else text

    return d


def minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f}"


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f} %"


def shown(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "minutes":
        return minutes(float(value))
    if kind == "percent":
        return percent(float(value))
    return str(value)


def _date(request: Request, name: str, default: date | None) -> date | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return default
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise DomainError("invalid_date", f"{name}: {raw[:20]!r} is not a date") from None


def _number(request: Request, name: str, default: float, low: float, high: float) -> float:
    raw = request.query_params.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = default
    return min(high, max(low, value)) if value == value else default


@router.get("/admin/dashboard")
async def dashboard(request: Request, caller: MaybeCaller) -> Response:
    if caller is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(request, f"/signin?next={quote(here, safe='')}")
    if caller.role not in MANAGERS:
        return render(request, "message.html", 403, title="403", message="err.forbidden")
    s = settings(request)
    lang = language(request)
    d = texts(lang)
    office = _office(s, caller.office_id, request.query_params.get("office", ""))
    today = local_day(request.app.state.hub.service.clock(), office.timezone)
    context: dict[str, Any] = {
        "d": d,
        "office": office,
        "offices": [] if caller.office_id else s.offices,
        "minutes": minutes,
        "percent": percent,
        "shown": shown,
        "errors": [],
    }
    status = 200
    try:
        first = _date(request, "from", today - timedelta(days=29))
        last = _date(request, "to", today)
        assert first is not None and last is not None
        target = _number(request, "target", 10, 1, 240)
        context.update(first=first, last=last, target=target)
        level = ServiceLevel(target * 60)
        report, feedback = await in_worker(
            request, build_report, report_engine(request), s, first, last, office.id, level
        )
        context.update(_report_view(report, feedback, office, lang, d, target, first, last))
    except DomainError as exc:
        context["errors"].append(exc.message)
        context.setdefault("first", today - timedelta(days=29))
        context.setdefault("last", today)
        context.setdefault("target", 10)
        context.setdefault("office_kpi", None)
        status = 422
    try:
        context.update(await _comparison(request, s, office, lang, d, context))
        context.update(await _plan(request, office, lang, d, context))
    except DomainError as exc:
        context["errors"].append(exc.message)
        status = 422
    return render(request, "dashboard.html", status, **context)


def _office(s: Settings, own: str | None, wanted: str) -> OfficeSettings:
    office = s.office(own or wanted or None) or s.default_office
    return office


def _group(report: KpiReport, dimension: str, office: str, key: str = "") -> GroupKpi | None:
    return report.group(dimension, office, key)


def _report_view(
    report: KpiReport,
    feedback: list[Any],
    office: OfficeSettings,
    lang: str,
    d: Callable[..., str],
    target: float,
    first: date,
    last: date,
) -> dict[str, Any]:
    summary = feedback_summary(feedback)
    office_feedback = next((f for f in summary if f["service"] == ""), None)
    rated = {f["service"]: f for f in summary if f["service"]}
    kpi = _group(report, "office", office.id)
    days = report.select("day", office.id)
    hours = report.select("hour", office.id)
    query = urlencode(
        {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "office": office.id,
            "target_minutes": target,
        }
    )
    view: dict[str, Any] = {
        "office_kpi": kpi,
        "office_feedback": office_feedback,
        "csv_url": f"/api/v1/reports/kpis?{query}&format=csv",
        "json_url": f"/api/v1/reports/kpis?{query}&format=json",
        "services": [
            (service_name(office, g.key, lang), g, rated.get(g.key))
            for g in report.select("service", office.id)
        ],
        "desks": [
            (_desk_name(office, g.key, d), g) for g in report.select("desk", office.id) if g.called
        ],
        "charts": [],
    }
    if kpi is None:
        return view
    labels = [g.key[5:] for g in days]  # MM-DD
    charts = view["charts"]
    charts.append(
        (
            d("per_day"),
            bar_chart(
                d("per_day"),
                d("per_day_desc"),
                labels,
                [Series(d("issued"), [g.issued for g in days])],
            ),
            [d("issued")],
            [(g.key, [str(g.issued)]) for g in days],
        )
    )
    mean = [_min(g.waiting.mean) for g in days]
    p90 = [_min(g.waiting.p90) for g in days]
    charts.append(
        (
            d("wait_day"),
            line_chart(
                d("wait_day"),
                d("wait_day_desc"),
                labels,
                [Series(d("mean"), mean), Series(d("p90"), p90)],
                unit=d("min"),
                target=target,
                target_label=f"{d('objective')} {target:g} {d('min')}",
                value_text=lambda v: f"{v:.1f} {d('min')}",
            ),
            [d("mean_wait"), d("p90_wait")],
            [(g.key, [minutes(g.waiting.mean), minutes(g.waiting.p90)]) for g in days],
        )
    )
    charts.append(
        (
            d("wait_hour"),
            bar_chart(
                d("wait_hour"),
                d("wait_hour_desc"),
                [f"{g.key}h" for g in hours],
                [
                    Series(d("mean"), [_min(g.waiting.mean) for g in hours]),
                    Series(d("p90"), [_min(g.waiting.p90) for g in hours]),
                ],
                unit=d("min"),
                target=target,
                target_label=f"{d('objective')} {target:g} {d('min')}",
                value_text=lambda v: f"{v:.1f} {d('min')}",
            ),
            [d("mean_wait"), d("p90_wait")],
            [(f"{g.key}h", [minutes(g.waiting.mean), minutes(g.waiting.p90)]) for g in hours],
        )
    )
    channels = ("walk_in", "appointment", "phone", "web")
    shares = [(kpi.channel_share(c) or 0) * 100 for c in channels]
    charts.append(
        (
            d("channels"),
            bar_chart(
                d("channels"),
                d("channels_desc"),
                [d(c) for c in channels],
                [Series(d("channels"), shares)],
                unit="%",
                value_text=lambda v: f"{v:.0f} %",
            ),
            [d("channels")],
            [(d(c), [f"{v:.0f} %"]) for c, v in zip(channels, shares, strict=True)],
        )
    )
    if office_feedback:
        stars = [office_feedback["ratings"][str(n)] for n in range(1, 6)]
        charts.append(
            (
                d("stars"),
                bar_chart(
                    d("stars"),
                    d("stars_desc"),
                    ["★" * n for n in range(1, 6)],
                    [Series(d("ratings"), stars)],
                ),
                [d("ratings")],
                [("★" * n, [str(v)]) for n, v in zip(range(1, 6), stars, strict=True)],
            )
        )
    return view


def _min(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


def _desk_name(office: OfficeSettings, desk_id: str, d: Callable[..., str]) -> str:
    desk = office.desk_by_id(desk_id) if desk_id else None
    return desk.label() if desk else (desk_id or d("no_desk"))


async def _comparison(
    request: Request,
    s: Settings,
    office: OfficeSettings,
    lang: str,
    d: Callable[..., str],
    context: dict[str, Any],
) -> dict[str, Any]:
    first, last = context["first"], context["last"]
    span = (last - first).days + 1
    a_from = _date(request, "a_from", None)
    a_to = _date(request, "a_to", None)
    b_from = _date(request, "b_from", None)
    b_to = _date(request, "b_to", None)
    view: dict[str, Any] = {
        "a_from": a_from or first - timedelta(days=span),
        "a_to": a_to or first - timedelta(days=1),
        "b_from": b_from or first,
        "b_to": b_to or last,
        "comparison": None,
    }
    if None in (a_from, a_to, b_from, b_to):
        return view
    assert a_from and a_to and b_from and b_to
    level = ServiceLevel(context["target"] * 60)
    engine = report_engine(request)
    zones = timezones(s)

    def both() -> Any:
        a = load_kpis(engine, zones, a_from, a_to, office.id, level)
        b = load_kpis(engine, zones, b_from, b_to, office.id, level)
        return compare(a, b, dimensions=("office", "service"))

    comparison = await in_worker(request, both)
    rows = []
    for g in comparison.groups:
        name = d("all") if g.dimension == "office" else service_name(office, g.key, lang)
        metrics = []
        for metric, label, kind in COMPARED:
            m = g.metric(metric)
            if kind == "percent":  # shares change by percentage points, not per cent
                change = "–" if m.delta is None else f"{m.delta * 100:+.0f} {d('points')}"
            else:
                change = "–" if m.change is None else f"{m.change * 100:+.0f} %"
            metrics.append((d(label), shown(m.a, kind), shown(m.b, kind), change))
        rows.append((name, metrics))
    services = [g for g in comparison.groups if g.dimension == "service"]
    wait_a = [_as_min(g.metric("wait_mean_s").a) for g in services]
    wait_b = [_as_min(g.metric("wait_mean_s").b) for g in services]
    names = [service_name(office, g.key, lang) for g in services]
    chart = bar_chart(
        d("compare_chart"),
        d("compare_desc"),
        names,
        [Series("A", wait_a), Series("B", wait_b)],
        unit=d("min"),
        value_text=lambda v: f"{v:.1f} {d('min')}",
    )
    query = urlencode(
        {
            "a_from": a_from.isoformat(),
            "a_to": a_to.isoformat(),
            "b_from": b_from.isoformat(),
            "b_to": b_to.isoformat(),
            "office": office.id,
            "format": "csv",
        }
    )
    view["comparison"] = {
        "rows": rows,
        "chart": chart,
        "table": [
            (n, [minutes(_sec(a)), minutes(_sec(b))])
            for n, a, b in zip(names, wait_a, wait_b, strict=True)
        ],
        "csv_url": f"/api/v1/reports/compare?{query}",
    }
    return view


def _as_min(value: Any) -> float | None:
    return None if value is None or isinstance(value, bool) else float(value) / 60


def _sec(value: float | None) -> float | None:
    return None if value is None else value * 60


async def _plan(
    request: Request,
    office: OfficeSettings,
    lang: str,
    d: Callable[..., str],
    context: dict[str, Any],
) -> dict[str, Any]:
    engine = report_engine(request)
    first, last = context["first"], context["last"]

    def days() -> list[str]:
        with engine.connect() as conn:
            return days_with_tickets(conn, office.id, first, last)[:MAX_DAYS]

    q = request.query_params
    view: dict[str, Any] = {
        "plan_days": await in_worker(request, days),
        "plan": {
            "desks": int(_number(request, "plan_desks", max(1, len(office.desks)), 1, 60)),
            "share": _number(request, "plan_share", 0, 0, 100),
            "day": q.get("plan_day", "")[:10],
            "rate": _number(request, "plan_rate", 20, 0, 400),
            "service": _number(request, "plan_service", 6, 0.5, 120),
            "open": int(_number(request, "plan_open", 9, 0, 23)),
            "close": int(_number(request, "plan_close", 14, 1, 24)),
        },
        "plan_result": None,
    }
    if "plan_desks" not in q:
        return view
    p = view["plan"]
    replay = _date(request, "plan_day", None)
    profile: tuple[planner.Profile, ...] = ()
    if replay is None:
        hours = range(p["open"], max(p["open"] + 1, p["close"]))
        share = 1 / max(1, len(office.services))
        profile = tuple(
            planner.Profile(sv.id, {h: p["rate"] * share for h in hours}, p["service"] * 60)
            for sv in office.services
        )
    plan = planner.Plan(
        desks=planner.generalist_desks(office, p["desks"]),
        appointment_share=p["share"] / 100,
        replay_day=replay,
        profile=profile,
        target_s=context["target"] * 60,
    )
    policy = request.app.state.hub.service.policy
    result = await in_worker(request, planner.run_plan, engine, office, plan, policy)
    services = result["services"]
    names = [service_name(office, sv["service"], lang) for sv in services]
    view["plan_result"] = {
        "result": result,
        "names": names,
        "chart": bar_chart(
            d("plan_chart"),
            d("plan_chart_desc"),
            names,
            [
                Series(d("mean"), [_min(sv["mean_wait_s"]) for sv in services]),
                Series(d("p90"), [_min(sv["p90_wait_s"]) for sv in services]),
            ],
            unit=d("min"),
            target=context["target"],
            target_label=f"{d('objective')} {context['target']:g} {d('min')}",
            value_text=lambda v: f"{v:.1f} {d('min')}",
        ),
    }
    return view
