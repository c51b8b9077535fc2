"""Citizen text: catalogues complete for every marked sentence, compiled and read by gettext."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

import pytest

from kiosk.flow import ERRORS, error_view, printer_problem_text
from kiosk.i18n import (
    LOCALE_DIR,
    CatalogueError,
    available_languages,
    compile_mo,
    ensure_mo,
    extract_messages,
    parse_po,
    translator,
)


def test_spanish_and_english_are_there() -> None:
    assert {"es", "en"} <= set(available_languages())


@pytest.mark.parametrize("lang", available_languages())
def test_every_marked_sentence_is_translated(lang: str) -> None:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "kiosk.po"
    messages = parse_po(po.read_text(encoding="utf-8"), po)
    wanted = extract_messages()
    assert len(wanted) > 50
    missing = [m for m in wanted if m not in messages]
    assert missing == []
    for msgid in wanted:  # the same {placeholders} on both sides, or format() would fail
        assert _fields(messages[msgid]) == _fields(msgid), msgid


def _fields(text: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize(
    ("code", "es", "en"),
    [
        (
            "qr_wrong_office",
            "Este código no es de esta oficina.",
            "This code is not from this office.",
        ),
        ("qr_expired", "Este código de cita ha caducado.", "This appointment code has expired."),
        ("appointment_cancelled", "Esta cita fue anulada.", "This appointment was cancelled."),
        ("no_such_code", "Algo ha fallado.", "Something went wrong."),
    ],
)
def test_error_sentences_in_both_languages(code: str, es: str, en: str, tmp_path: Path) -> None:
    error = error_view(code)
    assert error.message.render(translator("es", tmp_path)) == es
    assert error.message.render(translator("en", tmp_path)) == en
    assert error.hint.render(translator("es", tmp_path)) != error.hint.render(
        translator("en", tmp_path)
    )


def test_a_date_is_put_into_the_sentence(tmp_path: Path) -> None:
    from datetime import date

    error = error_view("appointment_other_day", when=date(2026, 3, 9), today=date(2026, 3, 2))
    assert error.message.render(translator("es", tmp_path)) == "Esta cita es para el 09/03/2026."


def test_printer_problems_are_translated(tmp_path: Path) -> None:
    tr = translator("es", tmp_path)
    assert tr(printer_problem_text("printer_paper_out")) == "La impresora se ha quedado sin papel."
    assert tr(printer_problem_text("printer_weird")) == "No hemos podido imprimir su tique."


def test_unknown_language_falls_back_to_english(tmp_path: Path) -> None:
    assert translator("xx", tmp_path)("Welcome") == "Welcome"


def test_every_error_code_has_sentences() -> None:
    for code, (what, hint, actions) in ERRORS.items():
        assert what and hint and actions, code


PO = r"""
# a comment
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"

msgid "Hello"
msgstr "Hola"

msgid ""
"Two "
"lines"
msgstr "Dos "
"líneas"

#, fuzzy
msgid "Fuzzy"
msgstr "Borroso"

msgid "Untranslated"
msgstr ""

msgid "Quote \"x\"\ttab"
msgstr "Cita \"x\"\ttab"
"""


def test_po_parsing_and_mo_compiling_round_trip() -> None:
    messages = parse_po(PO)
    assert messages["Hello"] == "Hola" and messages["Two lines"] == "Dos líneas"
    assert "Fuzzy" not in messages and "Untranslated" not in messages
    assert messages['Quote "x"\ttab'] == 'Cita "x"\ttab'
    catalogue = gettext.GNUTranslations(io.BytesIO(compile_mo(messages)))
    assert catalogue.gettext("Two lines") == "Dos líneas"
    assert catalogue.gettext("Untranslated") == "Untranslated"
    assert catalogue.gettext('Quote "x"\ttab') == 'Cita "x"\ttab'


@pytest.mark.parametrize(
    "bad",
    ['msgid "a"\n', 'msgid "a"\nmsgstr unquoted\n', 'msgid "a"\nmsgstr "\\q"\n', "gibberish\n"],
)
def test_a_broken_catalogue_is_refused_with_its_line(bad: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        parse_po(bad, Path("x.po"))
    assert caught.value.code == "catalogue_invalid" and "x.po:" in str(caught.value)


def test_mo_is_compiled_once_and_again_when_the_po_changes(tmp_path: Path) -> None:
    locale = tmp_path / "locale"
    po = locale / "ca" / "LC_MESSAGES" / "kiosk.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid "Welcome"\nmsgstr "Benvingut"\n', encoding="utf-8")
    cache = tmp_path / "cache"
    mo = ensure_mo("ca", cache, locale)
    assert mo is not None and mo.is_file()
    stamp = mo.stat().st_mtime_ns
    assert ensure_mo("ca", cache, locale) == mo and mo.stat().st_mtime_ns == stamp
    assert ensure_mo("fr", cache, locale) is None
    assert translator("ca", cache, locale)("Welcome") == "Benvingut"
