"""Checks of the settings the display needs, done before Kivy opens a window."""

from __future__ import annotations

from office360.config import ConfigError, OfficeSettings, Settings

from . import speech


def office_for(settings: Settings) -> OfficeSettings:
    office = settings.office(settings.device.office)
    if office is None:
        known = ", ".join(o.id for o in settings.offices)
        raise ConfigError(
            settings.source,
            "device.office",
            f"no office {settings.device.office!r} (known: {known})",
        )
    return office


def check(settings: Settings) -> OfficeSettings:
    try:
        speech.check_languages(settings.display.languages)
    except speech.UnsupportedLanguage as exc:
        raise ConfigError(settings.source, "display.languages", str(exc)) from None
    return office_for(settings)
