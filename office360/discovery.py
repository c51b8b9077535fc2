"""Finding the hub on the office LAN with mDNS / DNS-SD (python-zeroconf).

The hub announces ``_office360._tcp.local.`` with its base URL and office ids in the TXT record;
a kiosk or display whose ``[device] hub_url`` is empty browses for it with :func:`find_hub`.
``interfaces`` is passed to python-zeroconf as is: ``["127.0.0.1"]`` keeps everything on loopback
(the tests do that), the default uses every interface.
"""

from __future__ import annotations

import ipaddress
import queue
import socket
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from zeroconf import (
    InterfaceChoice,
    IPVersion,
    ServiceBrowser,
    ServiceInfo,
    ServiceListener,
    Zeroconf,
)

from .config import Settings
from .core.errors import DomainError

SERVICE_TYPE = "_office360._tcp.local."
TXT_VERSION = "1"
Interfaces = InterfaceChoice | list[str]


class HubNotFound(DomainError):
    def __init__(self, timeout: float, office: str | None) -> None:
        where = f" serving office {office!r}" if office else ""
        super().__init__(
            "hub_not_found",
            f"no office360 hub{where} answered on the network within {timeout:g} s "
            "(check that the hub runs and is on the same LAN, or set [device] hub_url)",
            office=office,
        )


@dataclass(frozen=True)
class HubAnnouncement:
    """What a hub says about itself; also what :func:`find_hub` returns."""

    url: str
    offices: tuple[str, ...]
    name: str = ""

    def serves(self, office: str | None) -> bool:
        return not office or office in self.offices


def _ipv4(addresses: list[str]) -> list[bytes]:
    return [socket.inet_aton(a) for a in addresses if ipaddress.ip_address(a).version == 4]


def lan_addresses() -> list[str]:
    """Non-loopback IPv4 addresses of this machine, for the A records of the announcement."""
    import ifaddr  # a dependency of zeroconf

    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback:
                found.append(ip.ip)
    return found or ["127.0.0.1"]


def announced_url(public_url: str, host: str, port: int, addresses: list[str]) -> str:
    """The URL devices should use: public_url, else the listening host, else a LAN address."""
    if public_url:
        return public_url.rstrip("/")
    if host not in ("0.0.0.0", "::", ""):
        return f"http://{host}:{port}"
    return f"http://{addresses[0]}:{port}"


class HubAnnouncer:
    """Announces one hub until closed. Use as a context manager or call start() / close()."""

    def __init__(
        self,
        url: str,
        offices: list[str] | tuple[str, ...],
        *,
        addresses: list[str] | None = None,
        name: str | None = None,
        interfaces: Interfaces = InterfaceChoice.All,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DomainError("hub_url_invalid", f"cannot announce {url!r}: not an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.addresses = addresses or lan_addresses()
        label = (name or f"office360 hub {socket.gethostname()}")[:63]
        self.info = ServiceInfo(
            SERVICE_TYPE,
            f"{label}.{SERVICE_TYPE}",
            port=port,
            addresses=_ipv4(self.addresses),
            properties={"v": TXT_VERSION, "url": url.rstrip("/"), "offices": ",".join(offices)},
            server=f"{socket.gethostname()}-office360.local.",
        )
        self.interfaces = interfaces
        self._zc: Zeroconf | None = None

    def start(self) -> None:
        if self._zc is not None:
            return
        self._zc = Zeroconf(interfaces=self.interfaces, ip_version=IPVersion.V4Only)
        # allow_name_change: two hubs on one LAN get "name (2)" instead of a crash
        self._zc.register_service(self.info, allow_name_change=True)

    def close(self) -> None:
        if self._zc is None:
            return
        self._zc.unregister_service(self.info)
        self._zc.close()
        self._zc = None

    def __enter__(self) -> HubAnnouncer:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def announcer_for(
    settings: Settings,
    addresses: list[str] | None = None,
    interfaces: Interfaces = InterfaceChoice.All,
) -> HubAnnouncer:
    """The announcement of the hub these settings describe (start it in the hub's lifespan)."""
    addresses = addresses or lan_addresses()
    hub = settings.hub
    url = announced_url(hub.public_url, hub.host, hub.port, addresses)
    return HubAnnouncer(
        url, [o.id for o in settings.offices], addresses=addresses, interfaces=interfaces
    )


def parse_service_info(info: ServiceInfo) -> HubAnnouncement | None:
    """The announcement carried by a resolved service, or None when it is not a usable hub."""
    props = {
        k.decode("utf-8", "replace"): (v or b"").decode("utf-8", "replace")
        for k, v in (info.properties or {}).items()
    }
    url = props.get("url", "")
    if not url:
        addresses = info.parsed_addresses(IPVersion.V4Only)
        if not addresses or not info.port:
            return None
        url = f"http://{addresses[0]}:{info.port}"
    offices = tuple(o for o in props.get("offices", "").split(",") if o)
    return HubAnnouncement(
        url=url, offices=offices, name=info.name.removesuffix("." + SERVICE_TYPE)
    )


class _Collector(ServiceListener):
    def __init__(self) -> None:
        self.names: queue.Queue[str] = queue.Queue()

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.names.put(name)

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.names.put(name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        pass


def find_hub(
    timeout: float = 5.0,
    office: str | None = None,
    interfaces: Interfaces = InterfaceChoice.All,
) -> HubAnnouncement:
    """Browse for a hub (serving ``office`` if given); raises :class:`HubNotFound` after timeout."""
    deadline = time.monotonic() + timeout
    collector = _Collector()
    zc = Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
    browser: Any = None
    try:
        browser = ServiceBrowser(zc, SERVICE_TYPE, collector)
        while (left := deadline - time.monotonic()) > 0:
            try:
                name = collector.names.get(timeout=left)
            except queue.Empty:
                break
            info = ServiceInfo(SERVICE_TYPE, name)
            resolve_ms = max(100.0, min(left, 3.0) * 1000)
            if not info.request(zc, resolve_ms):
                continue
            found = parse_service_info(info)
            if found is not None and found.serves(office):
                return found
    finally:
        if browser is not None:
            browser.cancel()
        zc.close()
    raise HubNotFound(timeout, office)


def resolve_hub_url(
    hub_url: str,
    office: str | None = None,
    timeout: float = 10.0,
    interfaces: Interfaces = InterfaceChoice.All,
) -> str:
    """``[device] hub_url`` when set, else the URL of a hub found on the LAN."""
    if hub_url.strip():
        return hub_url.strip().rstrip("/")
    return find_hub(timeout, office or None, interfaces).url
