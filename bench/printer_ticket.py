"""Printer benchmark: bytes per ticket; time from ticket data to last byte on a loopback printer.

    .venv/bin/python bench/printer_ticket.py [--runs 300]

Targets (issue 3): <= 2 KB per ticket with a native QR; <= 20 ms from ticket data to last byte sent.
The time covers print_ticket(): layout, python-escpos rendering, TCP connect, DLE EOT status
before and after (the reply after proves the printer read every byte), and close, against
printer.fake.FakePrinter.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from printer import open_printer
from printer.decode import decode
from printer.fake import FakePrinter
from printer.preview import sample_ticket


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    runs = parser.parse_args().runs
    ticket = replace(
        sample_ticket("es"), footer="Conserve este tique. ¡Le llamaremos por la pantalla!"
    )

    print("bytes per ticket")
    for profile, paper, qr in (
        ("TM-T88V", 80, "auto"),
        ("TM-T20II", 58, "auto"),
        ("TM-T88V", 80, "image"),
        ("POS-5890", 58, "auto"),
    ):
        printer = open_printer("tcp://127.0.0.1:9", profile=profile, paper_width_mm=paper, qr=qr)
        data = printer.render(ticket)
        native = decode(data, profile=profile, decode_images=False).qr_payloads != []
        kind = "native QR" if native else "image QR"
        print(f"  {profile:9} {paper} mm  {kind:9}  {len(data):6d} bytes")

    with FakePrinter() as fake:
        for ask_status in (True, False):
            printer = open_printer(fake.url, profile="TM-T88V", ask_status=ask_status)
            for _ in range(20):  # warm up
                printer.print_ticket(ticket)
            render_ms, print_ms = [], []
            gc.collect()
            for i in range(runs):
                numbered = replace(ticket, number=f"A{i % 1000:03d}")
                started = time.perf_counter()
                printer.render(numbered)
                render_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                printer.print_ticket(numbered)
                print_ms.append((time.perf_counter() - started) * 1000)
            label = "with DLE EOT before+after" if ask_status else "no status queries"
            print(f"ticket data -> last byte on loopback, TM-T88V, {label}, {runs} runs")
            for name, values in (("render only", render_ms), ("print_ticket", print_ms)):
                print(
                    f"  {name:12}  p50 {statistics.median(values):6.2f} ms  "
                    f"p99 {percentile(values, 99):6.2f} ms  max {max(values):6.2f} ms"
                )
        fake.wait_for_jobs(2 * (runs + 20), timeout=10)
        print(f"jobs received by the fake printer: {len(fake.jobs)}")


if __name__ == "__main__":
    main()
