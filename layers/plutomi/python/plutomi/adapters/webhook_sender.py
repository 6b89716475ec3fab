"""Sends a webhook delivery: one POST, to an address that was checked, redirects refused.

The URL is checked again (`parse_webhook_url`: https, a public host), the host name is resolved once
(the injected resolver; the system's getaddrinfo by default) and every address it resolves to must be
public (`plutomi.domain.network`; loopback too only in development). The TCP connection then goes to
one of those addresses, never to the name, so the answer cannot change between the check and the
connection (DNS rebinding). TLS still sends the name as SNI and checks the certificate against it, and
the Host header names it. No proxy from the environment is used.

A delivery has a deadline (`timeout_seconds`, counted from the start, the name's lookup included):
when it passes, whatever the exchange waits for (connecting, TLS, sending, the answer) is cut off, so
a receiver that trickles its answer a byte at a time cannot hold a delivery past it; a socket timeout
alone bounds each read, not the exchange. (The lookup itself is the system resolver's, bounded by its
own timeouts.)

A redirect is answered, never followed: the signed body goes only to the URL the org registered, and
a receiver cannot bounce it to an address of its choosing. The sender never raises for what the
network or the receiver does; it reports the status (None when no response came), the time taken and
a reason from the short list in `plutomi.domain.webhooks`: never the receiver's body or headers, an
exception's text or an address, so the deliveries log tells nobody what listens where.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping

from plutomi.adapters.resolver import HostResolver, SystemResolver
from plutomi.domain.errors import InvalidInput
from plutomi.domain.network import IPAddress, resolved_refusal
from plutomi.domain.webhooks import (
    NO_RESPONSE,
    NOT_PUBLIC,
    NOT_SENT_INVALID_URL,
    NOT_SENT_NOT_PUBLIC,
    SendResult,
    WebhookTarget,
    parse_webhook_url,
    status_reason,
)

TIMEOUT_SECONDS = 10.0
USER_AGENT = "Plutomi-Webhooks/1"
MAX_ADDRESSES = 4  # tried in turn while connections fail, within the timeout
MAX_DRAINED_BYTES = 64 * 1024  # read from a response (and dropped) so the connection closes cleanly

# Opens a TCP connection to (address, port) within the timeout; the seam where tests watch connections.
Connect = Callable[[IPAddress, int, float], socket.socket]


def open_connection(address: IPAddress, port: int, timeout: float) -> socket.socket:
    """A TCP connection to the address itself: no name, so no lookup happens here."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((str(address), port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    return sock


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP, or HTTPS with `tls`, to `host` over a socket that `open_socket` opens to a checked
    address. http.client still writes the Host header from `host` and the port. `cut` ends the
    exchange from another thread."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float,
        open_socket: Callable[[], socket.socket],
        tls: ssl.SSLContext | None,
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self._open_socket = open_socket
        self._tls = tls
        if tls is not None:
            self.default_port = http.client.HTTPS_PORT  # no ":443" in the Host header
        self._cut_lock = threading.Lock()
        self._cut = False
        self._open: socket.socket | None = None  # the socket a cut shuts down

    def connect(self) -> None:
        sock = self._hold(self._open_socket())
        if self._tls is not None:
            try:
                sock = self._hold(self._tls.wrap_socket(sock, server_hostname=self.host))
            except BaseException:
                sock.close()
                raise
        self.sock = sock

    def _hold(self, sock: socket.socket) -> socket.socket:
        with self._cut_lock:
            if self._cut:  # the deadline passed while it was being opened
                sock.close()
                raise TimeoutError("the delivery's deadline passed")
            self._open = sock
        return sock

    @property
    def was_cut(self) -> bool:
        with self._cut_lock:
            return self._cut

    def cut(self) -> None:
        """Shuts the connection down: a blocked send or receive returns at once, and so does the
        exchange (with an error, unless the status had arrived)."""
        with self._cut_lock:
            self._cut = True
            if self._open is not None:
                with contextlib.suppress(OSError):  # closed, or handed over to TLS a moment ago
                    # The plain socket's shutdown, also on a TLS one: no closing handshake to wait for.
                    socket.socket.shutdown(self._open, socket.SHUT_RDWR)


class WebhookSender:
    def __init__(
        self,
        resolver: HostResolver | None = None,
        *,
        allow_loopback: bool = False,
        timeout_seconds: float = TIMEOUT_SECONDS,
        tls: ssl.SSLContext | None = None,
        connect: Connect = open_connection,
    ) -> None:
        """`allow_loopback` only in development and tests (`settings.is_local`); `tls` replaces the
        system's trust store (tests trust their own CA)."""
        self.resolver = resolver if resolver is not None else SystemResolver()
        self.allow_loopback = allow_loopback
        self.timeout_seconds = timeout_seconds
        self._tls = tls if tls is not None else ssl.create_default_context()
        self._connect = connect

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        started = time.perf_counter()
        try:
            target = parse_webhook_url(url, allow_loopback=self.allow_loopback)
        except InvalidInput as error:
            reason = NOT_SENT_NOT_PUBLIC if error.code == NOT_PUBLIC else NOT_SENT_INVALID_URL
            return SendResult(None, _elapsed_ms(started), reason, blocked=True)
        try:
            addresses = (
                [target.address]
                if target.address is not None
                else self.resolver.resolve(target.host, target.port)
            )
        except Exception:  # a resolver is not to raise; if one does, it is no answer
            addresses = []
        if not addresses:
            return SendResult(None, _elapsed_ms(started), NO_RESPONSE)
        if resolved_refusal(addresses, self.allow_loopback) is not None:
            return SendResult(None, _elapsed_ms(started), NOT_SENT_NOT_PUBLIC, blocked=True)
        try:
            status = self._exchange(target, addresses, body, headers, started)
        except Exception:  # refused, unreachable, timed out, TLS, a broken reply: all the same here
            return SendResult(None, _elapsed_ms(started), NO_RESPONSE)
        return SendResult(status, _elapsed_ms(started), status_reason(status))

    def _exchange(
        self,
        target: WebhookTarget,
        addresses: list[IPAddress],
        body: bytes,
        headers: Mapping[str, str],
        started: float,
    ) -> int:
        deadline = started + self.timeout_seconds
        connection = _PinnedConnection(
            target.host,
            target.port,
            self.timeout_seconds,
            lambda: self._open_any(addresses, target.port, deadline),
            self._tls if target.scheme == "https" else None,
        )
        watchdog = threading.Timer(max(0.0, deadline - time.perf_counter()), connection.cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            sent = {**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT}
            connection.request("POST", target.request_target, body=body, headers=sent)
            response = connection.getresponse()
            if connection.was_cut:  # the answer's head ended by the cut, not by the receiver
                raise TimeoutError("the delivery's deadline passed")
            status = response.status
            with contextlib.suppress(Exception):  # the status came; a broken body does not change it
                response.read(MAX_DRAINED_BYTES)  # dropped: a receiver's body is never recorded
            return status
        finally:
            watchdog.cancel()
            connection.close()

    def _open_any(self, addresses: list[IPAddress], port: int, deadline: float) -> socket.socket:
        """A connection to the first of the checked addresses that accepts one."""
        failure: OSError = TimeoutError("no time left to connect")
        for address in addresses[:MAX_ADDRESSES]:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            try:
                return self._connect(address, port, remaining)
            except OSError as error:
                failure = error
        raise failure


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
