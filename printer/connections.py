"""Printer URLs and the byte transports behind them, each bounded by a deadline.

tcp://HOST[:9100]                         network printer (raw port 9100)
usb://VID:PID[?interface=0&in_ep=0x82&out_ep=0x01]   hexadecimal ids, e.g. usb://04b8:0202
serial:///dev/ttyUSB0[?baudrate=19200&parity=N&bytesize=8&stopbits=1&rtscts=1]
file:///dev/usb/lp0                       a device file (write-only: status is `unknown`)
preview:///var/lib/office360/tickets      a folder that receives one PNG per ticket
"""

from __future__ import annotations

import errno
import os
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from .errors import PrinterError

SCHEMES = ("tcp", "usb", "serial", "file", "preview")
DEFAULT_TCP_PORT = 9100
SERIAL_OPTIONS = {"baudrate", "bytesize", "parity", "stopbits", "rtscts", "dsrdtr", "xonxoff"}
USB_OPTIONS = {"interface", "in_ep", "out_ep"}


@dataclass(frozen=True)
class PrinterAddress:
    scheme: str
    host: str = ""
    port: int = DEFAULT_TCP_PORT
    path: str = ""
    vendor_id: int = 0
    product_id: int = 0
    options: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.scheme == "tcp":
            return f"tcp://{self.host}:{self.port}"
        if self.scheme == "usb":
            return f"usb://{self.vendor_id:04x}:{self.product_id:04x}"
        return f"{self.scheme}://{self.path}"


def parse_url(url: str) -> PrinterAddress:
    """Parse a printer URL or raise PrinterError("printer_url_invalid")."""

    def invalid(reason: str) -> PrinterError:
        return PrinterError("printer_url_invalid", f"{url!r}: {reason}")

    try:
        parts = urlsplit(url.strip())
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        port = parts.port if parts.scheme.lower() == "tcp" else None
    except ValueError as exc:
        raise invalid(str(exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise invalid(
            f"unknown printer type {scheme or '(none)'!r}; use one of {', '.join(SCHEMES)}"
        )
    if scheme == "tcp":
        if not parts.hostname:
            raise invalid("give a host: tcp://192.168.1.50:9100")
        if options:
            raise invalid(f"tcp:// takes no options (got {sorted(options)})")
        return PrinterAddress("tcp", host=parts.hostname, port=port or DEFAULT_TCP_PORT)
    if scheme == "usb":
        return _parse_usb(parts.netloc + parts.path, options, invalid)
    path = parts.netloc + parts.path
    if not path:
        raise invalid(f"give a path: {scheme}:///PATH")
    allowed = SERIAL_OPTIONS if scheme == "serial" else set()
    unknown = set(options) - allowed
    if unknown:
        raise invalid(f"unknown option(s) {sorted(unknown)} for {scheme}://")
    if scheme == "serial":
        _serial_kwargs(options, invalid)
    return PrinterAddress(scheme, path=path, options=options)


def _parse_usb(ids: str, options: dict[str, str], invalid: Any) -> PrinterAddress:
    vid, sep, pid = ids.strip("/").partition(":")
    try:
        vendor, product = int(vid, 16), int(pid, 16)
    except ValueError:
        raise invalid("give the vendor and product ids in hex: usb://04b8:0202") from None
    if not sep or not (0 < vendor <= 0xFFFF and 0 < product <= 0xFFFF):
        raise invalid("give the vendor and product ids in hex: usb://04b8:0202")
    unknown = set(options) - USB_OPTIONS
    if unknown:
        raise invalid(f"unknown option(s) {sorted(unknown)} for usb://")
    for key, value in options.items():
        try:
            int(value, 0)
        except ValueError:
            raise invalid(f"{key} must be a number (got {value!r})") from None
    return PrinterAddress("usb", vendor_id=vendor, product_id=product, options=options)


def _serial_kwargs(options: dict[str, str], invalid: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    try:
        if "baudrate" in options:
            kwargs["baudrate"] = int(options["baudrate"])
        if "bytesize" in options:
            kwargs["bytesize"] = int(options["bytesize"])
        if "stopbits" in options:
            kwargs["stopbits"] = float(options["stopbits"])
    except ValueError as exc:
        raise invalid(f"serial option is not a number: {exc}") from None
    if "parity" in options:
        parity = options["parity"].upper()[:1]
        if parity not in ("N", "E", "O", "M", "S"):
            raise invalid(f"parity must be N, E, O, M or S (got {options['parity']!r})")
        kwargs["parity"] = parity
    for flag in ("rtscts", "dsrdtr", "xonxoff"):
        if flag in options:
            kwargs[flag] = options[flag].lower() in ("1", "true", "yes", "on")
    return kwargs


class Deadline:
    """The time left for one public call; past it, PrinterError("printer_timeout")."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise PrinterError("printer_timeout", f"no answer within {self.seconds:g} s")
        return left


class Transport(Protocol):
    readable: bool

    def open(self, deadline: Deadline) -> None: ...

    def write(self, data: bytes, deadline: Deadline) -> None: ...

    def read_byte(self, deadline: Deadline) -> int: ...

    def close(self) -> None: ...


class TcpTransport:
    readable = True

    def __init__(self, address: PrinterAddress) -> None:
        self.address = address
        self.sock: socket.socket | None = None

    def open(self, deadline: Deadline) -> None:
        where = f"{self.address.host}:{self.address.port}"
        try:
            self.sock = socket.create_connection(
                (self.address.host, self.address.port), timeout=deadline.remaining()
            )
        except TimeoutError:
            raise PrinterError("printer_unreachable", f"no answer from {where}") from None
        except OSError as exc:
            raise PrinterError("printer_unreachable", f"{where}: {exc.strerror or exc}") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _socket(self) -> socket.socket:
        if self.sock is None:
            raise PrinterError("printer_disconnected", "the connection is not open")
        return self.sock

    def write(self, data: bytes, deadline: Deadline) -> None:
        sock = self._socket()
        try:
            sock.settimeout(deadline.remaining())
            sock.sendall(data)
        except TimeoutError:
            raise PrinterError("printer_timeout", "the printer stopped taking data") from None
        except OSError as exc:
            raise PrinterError("printer_disconnected", f"while sending: {exc}") from None

    def read_byte(self, deadline: Deadline) -> int:
        sock = self._socket()
        try:
            sock.settimeout(deadline.remaining())
            data = sock.recv(1)
        except TimeoutError:
            raise PrinterError("printer_timeout", "the printer did not answer DLE EOT") from None
        except OSError as exc:
            raise PrinterError("printer_disconnected", f"while reading: {exc}") from None
        if not data:
            raise PrinterError("printer_disconnected", "the printer closed the connection")
        return data[0]

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class SerialTransport:
    readable = True

    def __init__(self, address: PrinterAddress) -> None:
        self.address = address
        self.port: Any = None

    def open(self, deadline: Deadline) -> None:
        try:
            import serial
        except ImportError:
            raise PrinterError("printer_dependency_missing", "pip install pyserial") from None
        kwargs = _serial_kwargs(
            self.address.options, lambda r: PrinterError("printer_url_invalid", r)
        )
        try:
            self.port = serial.serial_for_url(
                self.address.path,
                timeout=deadline.remaining(),
                write_timeout=deadline.remaining(),
                **kwargs,
            )
        except (serial.SerialException, ValueError, OSError) as exc:
            raise _open_error(self.address.path, exc) from None

    def write(self, data: bytes, deadline: Deadline) -> None:
        import serial

        try:
            self.port.write_timeout = deadline.remaining()
            self.port.write(data)
        except serial.SerialTimeoutException:
            raise PrinterError("printer_timeout", "the printer stopped taking data") from None
        except (serial.SerialException, OSError) as exc:
            raise PrinterError("printer_disconnected", f"while sending: {exc}") from None

    def read_byte(self, deadline: Deadline) -> int:
        import serial

        try:
            self.port.timeout = deadline.remaining()
            data = self.port.read(1)
        except (serial.SerialException, OSError) as exc:
            raise PrinterError("printer_disconnected", f"while reading: {exc}") from None
        if not data:
            raise PrinterError("printer_timeout", "the printer did not answer DLE EOT")
        return int(data[0])

    def close(self) -> None:
        if self.port is not None:
            self.port.close()
            self.port = None


class FileTransport:
    """A device file such as /dev/usb/lp0, written without blocking past the deadline."""

    readable = False

    def __init__(self, address: PrinterAddress) -> None:
        self.address = address
        self.fd: int | None = None

    def open(self, deadline: Deadline) -> None:
        deadline.remaining()
        try:
            self.fd = os.open(self.address.path, os.O_WRONLY | os.O_NONBLOCK | os.O_APPEND)
        except OSError as exc:
            raise _open_error(self.address.path, exc) from None

    def write(self, data: bytes, deadline: Deadline) -> None:
        if self.fd is None:
            raise PrinterError("printer_disconnected", "the device is not open")
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.fd, view)
            except BlockingIOError:
                _, ready, _ = select.select([], [self.fd], [], deadline.remaining())
                if not ready:
                    raise PrinterError(
                        "printer_timeout", "the device stopped taking data"
                    ) from None
                continue
            except OSError as exc:
                raise PrinterError("printer_disconnected", f"while writing: {exc}") from None
            view = view[written:]

    def read_byte(self, deadline: Deadline) -> int:
        raise PrinterError("printer_error", "a device file cannot be read")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class UsbTransport:
    """A USB printer through pyusb (libusb-1.0); needs a udev rule giving the user access."""

    def __init__(self, address: PrinterAddress) -> None:
        self.address = address
        self.device: Any = None
        self.out_ep: Any = None
        self.in_ep: Any = None
        self.readable = True

    def open(self, deadline: Deadline) -> None:
        deadline.remaining()
        try:
            import usb.core
            import usb.util
        except ImportError:
            raise PrinterError("printer_dependency_missing", "pip install pyusb") from None
        ids = f"{self.address.vendor_id:04x}:{self.address.product_id:04x}"
        try:
            device = usb.core.find(
                idVendor=self.address.vendor_id, idProduct=self.address.product_id
            )
        except usb.core.NoBackendError:
            raise PrinterError(
                "printer_dependency_missing",
                "libusb-1.0 is not installed (apt install libusb-1.0-0)",
            ) from None
        if device is None:
            raise PrinterError("printer_not_found", f"no USB device {ids} is connected")
        options = {k: int(v, 0) for k, v in self.address.options.items()}
        interface = options.get("interface", 0)
        try:
            try:
                if device.is_kernel_driver_active(interface):
                    device.detach_kernel_driver(interface)
            except NotImplementedError:
                pass
            try:
                device.set_configuration()
            except usb.core.USBError as exc:
                if exc.errno != errno.EBUSY:
                    raise
            intf = device.get_active_configuration()[(interface, 0)]
        except usb.core.USBError as exc:
            if exc.errno == errno.EACCES:
                raise PrinterError(
                    "printer_permission_denied", f"USB device {ids}: add the udev rule"
                ) from None
            raise PrinterError("printer_unreachable", f"USB device {ids}: {exc}") from None
        self.device = device
        self.out_ep = options.get("out_ep") or _endpoint(intf, usb.util.ENDPOINT_OUT)
        self.in_ep = options.get("in_ep") or _endpoint(intf, usb.util.ENDPOINT_IN)
        if self.out_ep is None:
            raise PrinterError("printer_unreachable", f"USB device {ids} has no output endpoint")
        self.readable = self.in_ep is not None

    def write(self, data: bytes, deadline: Deadline) -> None:
        import usb.core

        try:
            self.device.write(self.out_ep, data, timeout=_ms(deadline))
        except usb.core.USBTimeoutError:
            raise PrinterError("printer_timeout", "the printer stopped taking data") from None
        except usb.core.USBError as exc:
            raise PrinterError("printer_disconnected", f"while sending: {exc}") from None

    def read_byte(self, deadline: Deadline) -> int:
        import usb.core

        try:
            data = self.device.read(self.in_ep, 64, timeout=_ms(deadline))
        except usb.core.USBTimeoutError:
            raise PrinterError("printer_timeout", "the printer did not answer DLE EOT") from None
        except usb.core.USBError as exc:
            raise PrinterError("printer_disconnected", f"while reading: {exc}") from None
        if not len(data):
            raise PrinterError("printer_timeout", "the printer did not answer DLE EOT")
        return int(data[0])

    def close(self) -> None:
        if self.device is not None:
            import usb.util

            usb.util.dispose_resources(self.device)
            self.device = None


def _endpoint(intf: Any, direction: int) -> Any:
    import usb.util

    return usb.util.find_descriptor(
        intf, custom_match=lambda e: usb.util.endpoint_direction(e.bEndpointAddress) == direction
    )


def _ms(deadline: Deadline) -> int:
    return max(1, int(deadline.remaining() * 1000))


def _open_error(path: str, exc: BaseException) -> PrinterError:
    err = getattr(exc, "errno", None)
    text = str(exc)
    if err == errno.ENOENT or "No such file" in text or "[Errno 2]" in text:
        return PrinterError("printer_not_found", f"{path} does not exist")
    if err == errno.EACCES or "[Errno 13]" in text:
        return PrinterError("printer_permission_denied", f"{path}: add the user to its group")
    if err == errno.ENXIO:
        return PrinterError("printer_unreachable", f"{path}: nothing is on the other side")
    return PrinterError("printer_unreachable", f"{path}: {text}")


def transport_for(address: PrinterAddress) -> Transport:
    kinds: dict[str, type] = {
        "tcp": TcpTransport,
        "serial": SerialTransport,
        "file": FileTransport,
        "usb": UsbTransport,
    }
    if address.scheme not in kinds:
        raise PrinterError("printer_url_invalid", f"{address.scheme}:// has no byte transport")
    transport: Transport = kinds[address.scheme](address)
    return transport
