"""Citizen-facing text through gettext catalogues: kiosk/locale/<lang>/LC_MESSAGES/kiosk.po.

Message ids are the English sentences. A catalogue is compiled to a .mo file the first time it is
needed (or again when its .po is newer) by `compile_mo`, a small equivalent of GNU msgfmt, into a
cache folder, then loaded with the standard `gettext` module. Adding a language is adding a .po.
"""

from __future__ import annotations

import ast
import gettext
import os
import struct
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "kiosk"

# What the language picker shows: each language in its own words.
LANGUAGE_NAMES: dict[str, str] = {
    "es": "Español",
    "en": "English",
    "ca": "Català",
    "eu": "Euskara",
    "gl": "Galego",
    "fr": "Français",
    "pt": "Português",
    "de": "Deutsch",
    "it": "Italiano",
    "ro": "Română",
    "ar": "العربية",
}

Translate = Callable[[str], str]


class CatalogueError(ValueError):
    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.code = "catalogue_invalid"


def N_(message: str) -> str:  # the gettext convention for "translate later"
    """Marks a message id for the catalogue; translated where it is shown."""
    return message


def parse_po(text: str, path: Path = Path("<po>")) -> dict[str, str]:
    """msgid → msgstr of a .po file (no plurals or contexts: the kiosk uses neither).

    Entries with an empty msgstr or marked fuzzy are left out, as msgfmt does; the header entry
    (empty msgid) is kept.
    """
    messages: dict[str, str] = {}
    current: dict[str, list[str]] = {}
    field = ""
    fuzzy = False

    def finish() -> None:
        nonlocal current, fuzzy
        if "msgid" in current:
            if "msgstr" not in current:
                raise CatalogueError(path, number, "a msgid without msgstr")
            msgid, msgstr = "".join(current["msgid"]), "".join(current["msgstr"])
            if msgstr and not fuzzy:
                messages[msgid] = msgstr
        current, fuzzy = {}, False

    number = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if line.startswith(("msgid ", "msgstr ")):
            field, _, rest = line.partition(" ")
            if field == "msgid" and "msgid" in current:
                finish()
            current[field] = [_po_string(rest, path, number)]
        elif line.startswith('"') and field in current:
            current[field].append(_po_string(line, path, number))
        else:
            raise CatalogueError(path, number, f"cannot read {line[:40]!r}")
    finish()
    return messages


def _po_string(token: str, path: Path, number: int) -> str:
    if not (len(token) >= 2 and token.startswith('"') and token.endswith('"')):
        raise CatalogueError(path, number, "a string must be in double quotes")
    try:
        value = ast.literal_eval(token)
    except (SyntaxError, ValueError):
        raise CatalogueError(path, number, "a string with a bad escape") from None
    if not isinstance(value, str):
        raise CatalogueError(path, number, "not a string")
    return value


def compile_mo(messages: dict[str, str]) -> bytes:
    """The GNU .mo bytes for `messages` (little-endian, revision 0, no hash table)."""
    ids = sorted(messages)
    keys = [i.encode("utf-8") for i in ids]
    values = [messages[i].encode("utf-8") for i in ids]
    count = len(ids)
    header_size = 7 * 4
    ids_table = header_size
    strs_table = ids_table + count * 8
    data_start = strs_table + count * 8
    offsets: list[int] = []
    blob = b""
    for item in keys + values:
        offsets += [len(item), data_start + len(blob)]
        blob += item + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, ids_table, strs_table, 0, 0)
    return header + struct.pack(f"<{4 * count}I", *offsets) + blob


def available_languages(locale_dir: Path = LOCALE_DIR) -> list[str]:
    return sorted(p.parent.parent.name for p in locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def ensure_mo(lang: str, cache_dir: Path, locale_dir: Path = LOCALE_DIR) -> Path | None:
    """The compiled catalogue for `lang` in cache_dir, compiled now if missing or stale; None
    when there is no catalogue for it."""
    po = locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.is_file():
        return None
    mo = cache_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
        return mo
    messages = parse_po(po.read_text(encoding="utf-8"), po)
    mo.parent.mkdir(parents=True, exist_ok=True)
    tmp = mo.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(compile_mo(messages))
    os.replace(tmp, mo)
    return mo


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"office360-kiosk-{os.getuid()}"


@lru_cache(maxsize=32)
def _translations(lang: str, cache_dir: Path, locale_dir: Path) -> gettext.NullTranslations:
    mo = ensure_mo(lang, cache_dir, locale_dir)
    if mo is None:
        return gettext.NullTranslations()
    with open(mo, "rb") as handle:
        return gettext.GNUTranslations(handle)


def translator(
    lang: str, cache_dir: Path | None = None, locale_dir: Path = LOCALE_DIR
) -> Translate:
    """`tr(msgid) -> text` for `lang`; the English id itself where a sentence is untranslated."""
    return _translations(lang, cache_dir or default_cache_dir(), locale_dir).gettext


def language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang, lang)


def extract_messages(root: Path = Path(__file__).parent) -> list[str]:
    """Every message id marked with N_("...") in the kiosk's Python files, in first-seen order
    (what a catalogue must translate; the tests check each catalogue has them all)."""
    seen: dict[str, None] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "N_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                seen.setdefault(node.args[0].value, None)
    return list(seen)
