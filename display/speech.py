"""What the display says and writes, per language: spoken phrases and on-screen headings."""

from __future__ import annotations

from xml.sax.saxutils import escape

from office360.core.numbering import spoken_number

# language -> (word before the number, word for a desk)
PHRASE_WORDS: dict[str, tuple[str, str]] = {
    "es": ("Número", "mostrador"),
    "en": ("Ticket", "desk"),
    "ca": ("Número", "taulell"),
    "fr": ("Numéro", "guichet"),
    "pt": ("Senha", "balcão"),
    "de": ("Nummer", "Schalter"),
    "it": ("Numero", "sportello"),
}
# language -> espeak-ng voice
VOICES: dict[str, str] = {
    "es": "es",
    "en": "en-gb",
    "ca": "ca",
    "fr": "fr-fr",
    "pt": "pt",
    "de": "de",
    "it": "it",
}
SUPPORTED = tuple(PHRASE_WORDS)

HEADINGS: dict[str, dict[str, str]] = {
    "calling": {
        "es": "Turno",
        "en": "Now calling",
        "ca": "Torn",
        "fr": "Appel",
        "pt": "Chamada",
        "de": "Aufruf",
        "it": "Turno",
    },
    "last_calls": {
        "es": "Últimas llamadas",
        "en": "Last calls",
        "ca": "Últimes crides",
        "fr": "Derniers appels",
        "pt": "Últimas chamadas",
        "de": "Letzte Aufrufe",
        "it": "Ultime chiamate",
    },
    "waiting": {
        "es": "en espera",
        "en": "waiting",
        "ca": "en espera",
        "fr": "en attente",
        "pt": "em espera",
        "de": "wartend",
        "it": "in attesa",
    },
    "reconnecting": {
        "es": "Reconectando…",
        "en": "Reconnecting…",
        "ca": "Reconnectant…",
        "fr": "Reconnexion…",
        "pt": "A religar…",
        "de": "Verbinde neu…",
        "it": "Riconnessione…",
    },
    "no_calls": {
        "es": "Espere su turno",
        "en": "Please wait for your number",
        "ca": "Espereu el vostre torn",
        "fr": "Attendez votre tour",
        "pt": "Aguarde a sua vez",
        "de": "Bitte warten Sie auf Ihre Nummer",
        "it": "Attenda il suo turno",
    },
}


class UnsupportedLanguage(ValueError):
    code = "unsupported_language"


def check_languages(languages: list[str] | tuple[str, ...]) -> None:
    unknown = [lang for lang in languages if lang.split("_")[0] not in PHRASE_WORDS]
    if unknown:
        raise UnsupportedLanguage(
            f"no announcement text for {', '.join(unknown)}; supported: {', '.join(SUPPORTED)}"
        )


def phrase(lang: str, number: str, desk: str, desk_name: str = "") -> str:
    """'Número A 17, mostrador 3' for es and ('A017', '3')."""
    return _phrase(lang, number, desk, desk_name, ssml=False)


def ssml(lang: str, number: str, desk: str, desk_name: str = "") -> str:
    """The same phrase for espeak-ng -m: the letters are spelled ('A' as the letter, not 'a')."""
    return "<speak>" + _phrase(lang, number, desk, desk_name, ssml=True) + "</speak>"


def desk_label(lang: str, desk: str, desk_name: str = "") -> str:
    """On screen and in speech: 'mostrador 3' for a numbered desk, else its configured name."""
    words = PHRASE_WORDS.get(_base(lang), PHRASE_WORDS["en"])
    return f"{words[1]} {int(desk)}" if desk.isdigit() else (desk_name or desk)


def heading(key: str, languages: list[str] | tuple[str, ...], sep: str = " · ") -> str:
    texts = HEADINGS[key]
    seen: list[str] = []
    for lang in languages or ("es",):
        text = texts.get(_base(lang), texts["en"])
        if text not in seen:
            seen.append(text)
    return sep.join(seen)


def wait_text(seconds: int | None) -> str:
    """'~12 min', the same in every language; empty when unknown."""
    if seconds is None:
        return ""
    return f"~{max(1, round(seconds / 60))} min"


def _phrase(lang: str, number: str, desk: str, desk_name: str, *, ssml: bool) -> str:
    base = _base(lang)
    if base not in PHRASE_WORDS:
        raise UnsupportedLanguage(f"no announcement text for {lang!r}")
    word = PHRASE_WORDS[base][0]
    prefix, seq = spoken_number(number)
    letters = " ".join(prefix)
    place = desk_label(base, desk, desk_name)
    if ssml:
        spelled = f'<say-as interpret-as="characters">{escape(letters)}</say-as>'
        return f"{escape(word)} {spelled} {seq}, {escape(place)}"
    return f"{word} {letters} {seq}, {place}"


def _base(lang: str) -> str:
    return lang.split("_")[0]
