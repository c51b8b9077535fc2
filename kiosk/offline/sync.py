"""The kiosk's sync thread: sends the spool to the hub and keeps number blocks in reserve.

Each pass first sends every pending ticket (POST /api/v1/tickets/offline, in batches, oldest
first; the hub stores each once per local id, so a batch whose answer was lost is simply sent
again), then asks for blocks (POST /api/v1/devices/blocks), which the hub tops up when fewer than
half a block of numbers is left. While the hub is unreachable passes repeat with a growing pause
(1 s, 2 s, … up to `retry_max_s`); while it answers, every `refresh_s`. Never on the UI thread.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time
from zoneinfo import ZoneInfo

from office360.client import HubClient, HubError, HubUnreachable

from .mode import OfflineMode

log = logging.getLogger(__name__)
BATCH = 100


class OfflineSync:
    def __init__(
        self,
        client: HubClient,
        mode: OfflineMode,
        *,
        block_size: int = 50,
        refresh_s: float = 300.0,
        retry_first_s: float = 1.0,
        retry_max_s: float = 30.0,
        next_day_from: time | None = None,
    ) -> None:
        self.client = client
        self.mode = mode
        self.spool = mode.spool
        self.block_size = block_size
        self.refresh_s = refresh_s
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.next_day_from = next_day_from
        self.passes = 0
        self.last_error = ""
        self._resting = False  # the last pass reached the hub: waiting `refresh_s`
        mode.on_spooled = self._spooled
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one pass ----------------------------------------------------------------------------

    def sync_once(self) -> bool:
        """Send the spool, then refresh the blocks; True when the hub answered."""
        self.passes += 1
        try:
            self.send_pending()
            self.refresh_blocks()
        except HubUnreachable as exc:
            self.last_error = exc.code
            self.mode.hub_unreachable()
            self.mode.report()
            return False
        except HubError as exc:  # the hub answered but refused (a revoked token, …)
            self.last_error = exc.code
            log.warning("offline sync refused: %s", exc)
            self.mode.hub_reachable()
            self.mode.report()
            return True
        self.last_error = ""
        self.mode.hub_reachable()
        self.mode.report()
        return True

    def send_pending(self) -> int:
        """Every pending ticket sent and settled (accepted or refused for good); how many."""
        settled = 0
        while True:
            batch = self.spool.pending(BATCH)
            if not batch:
                return settled
            answer = self.client.send_offline([t.item() for t in batch])
            results = answer.get("results") if isinstance(answer, dict) else None
            if not isinstance(results, list) or len(results) != len(batch):
                raise HubError("bad_response", "the hub's answer does not match the batch")
            progress = 0
            for spooled, result in zip(batch, results, strict=True):
                status = result.get("status") if isinstance(result, dict) else None
                if status in (200, 201) and isinstance(result.get("ticket"), dict):
                    self.spool.mark_sent(spooled.local_id, result["ticket"])
                    progress += 1
                elif isinstance(status, int) and 400 <= status < 500:
                    log.error(
                        "the hub refused offline ticket %s: %s",
                        spooled.number,
                        result.get("error"),
                    )
                    self.spool.mark_refused(spooled.local_id, str(result.get("error")))
                    progress += 1
            if progress == 0:
                raise HubError("offline_sync_stuck", "the hub settled none of the batch")
            settled += progress

    def refresh_blocks(self) -> None:
        answer = self.client.reserve_blocks(self.block_size, self._wants_next_day())
        if not isinstance(answer, dict) or not isinstance(answer.get("blocks"), list):
            raise HubError("bad_response", "the hub's blocks answer has no blocks")
        self.spool.store_blocks(answer["blocks"], answer.get("days") or [self.mode.today()])

    def _wants_next_day(self) -> bool:
        if self.next_day_from is None:
            return False
        local = self.mode.now().astimezone(ZoneInfo(self.mode.timezone))
        return local.time() >= self.next_day_from

    # --- the thread --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kiosk-offline-sync", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run a pass now (e.g. right after a ticket was issued offline)."""
        self._wake.set()

    def _spooled(self) -> None:
        # A ticket issued offline: the hub went away during a long rest, so start trying now
        # (while already retrying, the backoff goes on undisturbed).
        if self._resting:
            self.wake()

    def stop(self, timeout_s: float = 3.0) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        delay = self.retry_first_s
        while not self._stopped.is_set():
            try:
                ok = self.sync_once()
            except Exception:  # a bug here must not end the thread: the spool waits
                log.exception("offline sync pass failed")
                ok = False
            if ok:
                delay = self.retry_first_s
                pause = self.refresh_s
            else:
                pause = delay
                delay = min(self.retry_max_s, delay * 2)
            self._resting = ok
            self._wake.wait(pause)
            self._wake.clear()


def parse_hhmm(text: str) -> time | None:
    """ "17:00" -> time(17, 0); "" -> None."""
    if not text:
        return None
    return datetime.strptime(text, "%H:%M").time()
