"""SMS to citizens who opted in: the texts, phone numbers (checked, masked) and the HTTP gateway."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import requests

from office360.config import SmsSettings
from office360.core.errors import Invalid

_SEPARATORS = re.compile(r"[ ()./-]")
_PHONE = re.compile(r"\+?[0-9]{6,15}")

TEXTS: dict[str, dict[str, str]] = {
    "near": {
        "es": "{office}: su turno {number} se acerca ({ahead} por delante{wait}). "
        "Vuelva a la sala de espera, por favor.",
        "en": "{office}: your turn {number} is near ({ahead} ahead{wait}). "
        "Please come back to the waiting room.",
    },
    "called": {
        "es": "{office}: le llaman. Número {number}, {desk}.",
        "en": "{office}: you are being called. Number {number}, {desk}.",
    },
}
_WAIT = {"es": ", unos {minutes} min", "en": ", about {minutes} min"}


def normalize_phone(raw: str) -> str:
    """ "+34 612 34 54 56" -> "+34612345456"; Invalid("phone_invalid") if it is not a number."""
    compact = _SEPARATORS.sub("", raw.strip())
    if not _PHONE.fullmatch(compact):
        raise Invalid(
            "phone_invalid", "give a phone number of 6 to 15 digits, with its +country code"
        )
    return compact


def mask_phone(phone: str) -> str:
    """ "+34612345456" -> "+34 6•• ••• •56": enough to recognise one's own number, no more."""
    digits = re.sub(r"\D", "", phone)
    prefix = ""
    if phone.strip().startswith("+") and len(digits) > 6:
        prefix, digits = f"+{digits[:2]} ", digits[2:]
    if len(digits) <= 3:
        return prefix + "•" * len(digits)
    masked = digits[0] + "•" * (len(digits) - 3) + digits[-2:]
    head = len(masked) % 3 or 3  # grouped in threes from the right, as numbers are read
    groups = [masked[:head]] + [masked[i : i + 3] for i in range(head, len(masked), 3)]
    return prefix + " ".join(groups)


def near_text(lang: str, office: str, number: str, ahead: int, wait_s: int | None) -> str:
    lang = lang if lang in TEXTS["near"] else "es"
    wait = ""
    if wait_s is not None:
        wait = _WAIT[lang].format(minutes=max(1, round(wait_s / 60)))
    return TEXTS["near"][lang].format(office=office, number=number, ahead=ahead, wait=wait)


def called_text(lang: str, office: str, number: str, desk: str) -> str:
    lang = lang if lang in TEXTS["called"] else "es"
    return TEXTS["called"][lang].format(office=office, number=number, desk=desk)


@dataclass(frozen=True)
class GatewayRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def gateway_request(config: SmsSettings, to: str, text: str) -> GatewayRequest:
    """The gateway call with {to} and {text} filled in, escaped for where they go."""
    url = config.url.replace("{to}", quote(to, safe="")).replace("{text}", quote(text, safe=""))
    headers = dict(config.headers)
    for name, variable in config.headers_env.items():
        headers[name] = os.environ.get(variable, "")
    body: bytes | None = None
    if config.method != "GET":
        if config.body_format == "json":
            esc = lambda v: json.dumps(v, ensure_ascii=False)[1:-1]  # noqa: E731
            headers.setdefault("Content-Type", "application/json")
        elif config.body_format == "form":
            esc = quote_plus
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            esc = str
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        filled = config.body_template.replace("{to}", esc(to)).replace("{text}", esc(text))
        body = filled.encode()
    return GatewayRequest(config.method, url, headers, body)


def send(config: SmsSettings, to: str, text: str) -> int:
    """One call to the gateway; its HTTP status (network errors raise RequestException)."""
    req = gateway_request(config, to, text)
    response = requests.request(
        req.method,
        req.url,
        data=req.body,
        headers=req.headers,
        timeout=(min(config.timeout_s, 5.0), config.timeout_s),
        allow_redirects=False,
    )
    response.close()
    return response.status_code
