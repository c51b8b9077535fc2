"""A tiny wheel standing in for office360 in installer tests: pip installs it offline in a
second, and its `office360` command records its arguments to $FAKE_LOG (so a test sees that
the installer ran `office360 hub migrate --config ...`)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

NAME = "office360_fake"
SCRIPT = """import json, os, sys


def main():
    log = os.environ.get("FAKE_LOG")
    if log:
        with open(log, "a") as out:
            out.write(json.dumps(sys.argv[1:]) + "\\n")
    return 0
"""


def build_fake_wheel(folder: Path, version: str, marker: str = "") -> Path:
    """``marker`` ends up in the module as MARKER: two builds of one version can differ."""
    info = f"{NAME}-{version}.dist-info"
    files = {
        f"{NAME}.py": SCRIPT + f"\n\nMARKER = {marker!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: office360-fake\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        f"{info}/entry_points.txt": f"[console_scripts]\noffice360 = {NAME}:main\n",
    }
    path = folder / f"{NAME}-{version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            data = text.encode()
            wheel.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{name},sha256={digest.decode()},{len(data)}")
        record.append(f"{info}/RECORD,,")
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path
