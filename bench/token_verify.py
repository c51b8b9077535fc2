"""How long a kiosk takes to verify a scanned appointment code (target: 1 ms).

Run: .venv/bin/python bench/token_verify.py [--n 20000]

Prints the median and p99 (wall clock, and this thread's CPU time) of: the whole `verify` (text
to claims), the Ed25519 check alone, everything but the Ed25519 check, and signing; plus the
code's length and the QR version it needs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from office360.qrtoken import (
    SIGNATURE_LEN,
    SIGNING_CONTEXT,
    Claims,
    KeyRing,
    decode_payload,
    decode_text,
    generate_signing_key,
    verify,
)


def timings_us(fn: Callable[[], object], n: int) -> tuple[list[float], list[float]]:
    """Wall-clock and this thread's CPU time per call, in microseconds. On a shared machine the
    wall-clock tail includes time the scheduler gave to other processes; CPU time does not."""
    for _ in range(min(n, 500)):  # warm up
        fn()
    wall, cpu = [], []
    wall_clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for _ in range(n):
        w0, c0 = wall_clock(), cpu_clock()
        fn()
        c1, w1 = cpu_clock(), wall_clock()
        wall.append((w1 - w0) / 1000)
        cpu.append((c1 - c0) / 1000)
    return wall, cpu


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def summary(name: str, samples: tuple[list[float], list[float]]) -> str:
    wall, cpu = sorted(samples[0]), sorted(samples[1])
    return (
        f"{name:<26} wall median {statistics.median(wall):6.1f} p99 {percentile(wall, 0.99):7.1f}"
        f" max {wall[-1]:8.1f} | cpu median {statistics.median(cpu):6.1f}"
        f" p99 {percentile(cpu, 0.99):6.1f}  (us)"
    )


def qr_version(text: str) -> str:
    try:
        import qrcode
    except ModuleNotFoundError:
        return "n/a (qrcode not installed)"
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    size = 17 + 4 * qr.version
    return f"version {qr.version} ({size}x{size} modules) at level M"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()

    # a kiosk trusting three keys after two rotations
    ring = KeyRing(generate_signing_key("k2024")).rotate(kid="k2025a", keep=2)
    ring = ring.rotate(kid="k2025b", keep=2)
    keys = ring.public_keys()
    slot = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    claims = Claims(1_234_567, "centro", "certificates", slot, slot + timedelta(hours=2))
    text = ring.signing.sign(claims)
    now = slot - timedelta(minutes=10)
    raw = decode_text(text)
    payload, signature = raw[:-SIGNATURE_LEN], raw[-SIGNATURE_LEN:]
    public = keys["k2025b"]

    def parse_only() -> None:
        decode_payload(decode_text(text)[:-SIGNATURE_LEN])

    print(f"code: {len(text)} characters, {len(raw)} bytes; QR {qr_version(text)}")
    print(f"keys trusted: {len(keys)}; samples: {args.n}")
    print(summary("verify (text -> claims)", timings_us(lambda: verify(text, keys, now), args.n)))
    print(
        summary(
            "ed25519 check alone",
            timings_us(lambda: public.verify(signature, SIGNING_CONTEXT + payload), args.n),
        )
    )
    print(summary("decode + parse, no check", timings_us(parse_only, args.n)))
    print(summary("sign (hub side)", timings_us(lambda: ring.signing.sign(claims), args.n // 4)))
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
