"""The webhook sender against real receivers on this machine, with an injected resolver: what it
refuses it never connects to, what it allows it connects to at the address it checked (never by name
again), TLS checks the certificate against the name, and failures read the same whatever the cause.

Nothing here leaves 127.0.0.1: names resolve through `FakeResolver`, and every connection goes
through `RecordingConnect`, which opens loopback only.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from plutomi.adapters.resolver import SystemResolver
from plutomi.adapters.webhook_sender import WebhookSender
from plutomi.domain.webhooks import NO_RESPONSE, NOT_SENT_INVALID_URL, NOT_SENT_NOT_PUBLIC, SendResult
from plutomi.runtime.embedded import free_port
from tests.support.network import FakeResolver, RecordingConnect

NAME = "hooks.example.test"
BODY = b'{"id":"evt_1","type":"org.updated"}'
HEADERS = {"Plutomi-Event-Id": "evt_1", "Plutomi-Event-Type": "org.updated", "Plutomi-Signature": "t=1,v1=ab"}

# ---------------------------------------------------------------------- a CA and receivers


@dataclass(frozen=True)
class Authority:
    """A throwaway CA: `issue(name)` gives a certificate and key file pair for a receiver."""

    directory: Path
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.pem)  # trusts this CA only
        return context

    def issue(self, name: str) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        cert_file, key_file = self.directory / f"{name}.crt", self.directory / f"{name}.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert_file, key_file


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Plutomi test CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Authority(tmp_path_factory.mktemp("tls"), key, certificate)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP(S) server on 127.0.0.1 answering `status` (with a body and headers meant to stay out of
    any record), recording each request and, under TLS, the SNI names it was asked for."""

    status: int = 200
    answer_headers: dict[str, str] = field(default_factory=dict)
    answer_body: bytes = b""
    requests: list[Request] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self, tls: tuple[Path, Path] | None = None) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.requests.append(
                    Request(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
                    )
                )
                self.send_response(receiver.status)
                for name, value in receiver.answer_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(receiver.answer_body)))
                self.end_headers()
                self.wfile.write(receiver.answer_body)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)

            def remember(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
                receiver.server_names.append(name)

            context.sni_callback = remember
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server, self.port = server, server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="sender-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(tls: tuple[Path, Path] | None = None, **answer: Any) -> Receiver:
        receiver = Receiver(**answer).start(tls)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


class RawServer:
    """A TCP listener on 127.0.0.1 that `behave`s with each connection (speaks no HTTP, or nothing)."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self.port: int = self._listener.getsockname()[1]
        self._behave = behave
        self._thread = threading.Thread(target=self._serve, name="raw-receiver", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with connection:
                self._behave(connection)

    def stop(self) -> None:
        self._listener.close()


def sender(
    resolver: FakeResolver, connect: RecordingConnect, *, allow_loopback: bool, **options: Any
) -> WebhookSender:
    return WebhookSender(resolver, allow_loopback=allow_loopback, connect=connect, **options)


# ---------------------------------------------------------------------- refused: never connected to


@pytest.mark.parametrize(
    ("answers", "allow_loopback"),
    [
        (["10.0.0.1"], True),
        (["169.254.169.254"], True),
        (["100.64.0.1"], True),
        (["fd00::1"], True),
        (["::ffff:10.0.0.1"], True),
        (["93.184.215.14", "192.168.0.10"], True),  # every answer must be allowed
        (["127.0.0.1"], False),  # loopback, outside development
        (["::1"], False),
        (["::ffff:127.0.0.1"], False),
    ],
)
def test_a_name_resolving_to_an_internal_address_is_not_connected_to(
    answers: list[str], allow_loopback: bool
) -> None:
    resolver, connect = FakeResolver({NAME: answers}), RecordingConnect()
    result = sender(resolver, connect, allow_loopback=allow_loopback).post(
        f"https://{NAME}/in", BODY, HEADERS
    )
    assert (result.status_code, result.error, result.blocked) == (None, NOT_SENT_NOT_PUBLIC, True)
    assert resolver.calls == [(NAME, 443)]
    assert connect.attempts == []
    assert not any(answer in (result.error or "") for answer in answers)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://2130706433/",
        "https://0x7f000001/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://0x7f.1/",
        "https://127.0.0.1./",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://localhost/",
        "https://api.localhost/",
        "https://10.0.0.1/x",
        "https://0x0a000001/",
        "https://169.254.169.254/latest",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
    ],
)
def test_an_internal_address_in_the_url_is_neither_resolved_nor_connected_to(url: str) -> None:
    resolver, connect = FakeResolver({"localhost": ["127.0.0.1"]}), RecordingConnect()
    result = sender(resolver, connect, allow_loopback=False).post(url, BODY, HEADERS)
    assert (result.status_code, result.error, result.blocked) == (None, NOT_SENT_NOT_PUBLIC, True)
    assert resolver.calls == [] and connect.attempts == []


@pytest.mark.parametrize(
    "url", ["http://example.com/hook", "ftp://example.com/", "https://user:pw@example.com/"]
)
def test_a_url_not_allowed_is_not_sent(url: str) -> None:
    resolver, connect = FakeResolver({"example.com": ["93.184.215.14"]}), RecordingConnect()
    result = sender(resolver, connect, allow_loopback=True).post(url, BODY, HEADERS)
    assert (result.status_code, result.error, result.blocked) == (None, NOT_SENT_INVALID_URL, True)
    assert resolver.calls == [] and connect.attempts == []


def test_the_default_sender_refuses_loopback() -> None:
    """Built with no arguments (the system resolver), loopback is refused: development must ask."""
    result = WebhookSender().post("https://127.0.0.1:9/", BODY, HEADERS)
    assert (result.error, result.blocked) == (NOT_SENT_NOT_PUBLIC, True)


# ---------------------------------------------------------------------- allowed: to the checked address


def test_the_connection_goes_to_the_resolved_address_with_the_name_for_tls_and_host(
    authority: Authority, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers(tls=authority.issue(NAME))
    resolver, connect = FakeResolver({NAME: ["127.0.0.1"]}), RecordingConnect()
    send = sender(resolver, connect, allow_loopback=True, tls=authority.client_context())

    result = send.post(f"https://{NAME}:{receiver.port}/in?team=1", BODY, HEADERS)
    assert (result.status_code, result.error, result.blocked) == (200, None, False)
    assert connect.attempts == [(IPv4Address("127.0.0.1"), receiver.port)]
    assert resolver.calls == [(NAME, receiver.port)]  # once: the address checked is the one used
    [request] = receiver.requests
    assert request.headers["host"] == f"{NAME}:{receiver.port}"
    assert receiver.server_names == [NAME]  # SNI names the host; the certificate was checked for it
    assert (request.path, request.body) == ("/in?team=1", BODY)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Plutomi-Webhooks/1"
    assert request.headers["plutomi-signature"] == "t=1,v1=ab"


def test_a_later_answer_of_the_resolver_cannot_redirect_the_connection(
    authority: Authority, receivers: Callable[..., Receiver]
) -> None:
    """DNS rebinding: a name that answers a loopback address first and an internal one next. The
    sender asks once per delivery and connects to that answer; the next delivery is checked anew."""
    receiver = receivers(tls=authority.issue(NAME))

    class Rebinding(FakeResolver):
        def resolve(self, host: str, port: int) -> list[Any]:
            super().resolve(host, port)
            return [ip_address("127.0.0.1") if len(self.calls) == 1 else ip_address("10.0.0.1")]

    resolver, connect = Rebinding(), RecordingConnect()
    send = sender(resolver, connect, allow_loopback=True, tls=authority.client_context())
    first = send.post(f"https://{NAME}:{receiver.port}/", BODY, HEADERS)
    second = send.post(f"https://{NAME}:{receiver.port}/", BODY, HEADERS)
    assert first.status_code == 200 and len(receiver.requests) == 1
    assert (second.error, second.blocked) == (NOT_SENT_NOT_PUBLIC, True)
    assert connect.attempts == [(IPv4Address("127.0.0.1"), receiver.port)]
    assert len(resolver.calls) == 2


def test_the_certificate_must_name_the_host_not_the_address(
    authority: Authority, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers(tls=authority.issue("someone-else.example.test"))
    resolver, connect = FakeResolver({NAME: ["127.0.0.1"]}), RecordingConnect()
    send = sender(resolver, connect, allow_loopback=True, tls=authority.client_context())
    result = send.post(f"https://{NAME}:{receiver.port}/", BODY, HEADERS)
    assert (result.status_code, result.error, result.blocked) == (None, NO_RESPONSE, False)
    assert receiver.requests == []


def test_plain_http_to_localhost_in_development_connects_to_its_address(
    receivers: Callable[..., Receiver],
) -> None:
    receiver = receivers()
    resolver, connect = FakeResolver({"localhost": ["127.0.0.1"]}), RecordingConnect()
    result = sender(resolver, connect, allow_loopback=True).post(
        f"http://localhost:{receiver.port}/x", BODY, HEADERS
    )
    assert (result.status_code, result.error) == (200, None)
    assert connect.attempts == [(IPv4Address("127.0.0.1"), receiver.port)]
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


def test_the_next_checked_address_is_tried_when_one_refuses(receivers: Callable[..., Receiver]) -> None:
    receiver = receivers()  # on 127.0.0.1 only: ::1 (if this machine has it) refuses
    resolver, connect = FakeResolver({"localhost": ["::1", "127.0.0.1"]}), RecordingConnect()
    result = sender(resolver, connect, allow_loopback=True).post(
        f"http://localhost:{receiver.port}/", BODY, HEADERS
    )
    assert result.status_code == 200
    assert connect.attempts == [
        (IPv6Address("::1"), receiver.port),
        (IPv4Address("127.0.0.1"), receiver.port),
    ]


def test_no_proxy_from_the_environment_is_used(
    receivers: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(variable, f"http://127.0.0.1:{free_port()}")
    receiver = receivers()
    connect = RecordingConnect()
    result = sender(FakeResolver(), connect, allow_loopback=True).post(
        f"http://127.0.0.1:{receiver.port}/", BODY, HEADERS
    )
    assert result.status_code == 200 and connect.attempts == [(IPv4Address("127.0.0.1"), receiver.port)]


# ---------------------------------------------------------------------- what the log may say


def test_statuses_are_reported_without_the_receivers_body_or_headers(
    receivers: Callable[..., Receiver],
) -> None:
    send = sender(FakeResolver(), RecordingConnect(), allow_loopback=True)
    secret = b"db-7.internal:5432 password=hunter2 <title>Jenkins</title>"
    cases: list[tuple[dict[str, Any], SendResult]] = [
        ({"status": 500, "answer_body": secret}, SendResult(500, 0, "HTTP 500 Internal Server Error")),
        ({"status": 404, "answer_body": secret}, SendResult(404, 0, "HTTP 404 Not Found")),
        (
            {"status": 302, "answer_headers": {"Location": "http://10.0.0.5/admin"}},
            SendResult(302, 0, "HTTP 302: redirect not followed"),
        ),
        ({"status": 204}, SendResult(204, 0, None)),
        ({"status": 200, "answer_body": secret}, SendResult(200, 0, None)),
    ]
    for answer, expected in cases:
        receiver = receivers(**answer)
        result = send.post(f"http://127.0.0.1:{receiver.port}/", BODY, HEADERS)
        assert (result.status_code, result.error, result.blocked) == (
            expected.status_code,
            expected.error,
            False,
        )
        assert len(receiver.requests) == 1  # a redirect is not followed


def test_every_kind_of_no_response_reads_the_same(
    authority: Authority, receivers: Callable[..., Receiver]
) -> None:
    """Refused, silent, not speaking HTTP, not speaking TLS, a certificate for another name, a name
    that does not resolve: the log cannot tell them apart, so it cannot map a network."""

    def banner(connection: socket.socket) -> None:
        connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    def silent(connection: socket.socket) -> None:
        connection.recv(65536)
        threading.Event().wait(1.5)

    raw = [RawServer(banner), RawServer(silent)]
    plain, wrong_name = receivers(), receivers(tls=authority.issue("other.example.test"))
    try:
        resolver = FakeResolver({NAME: ["127.0.0.1"]})
        send = sender(
            resolver,
            RecordingConnect(),
            allow_loopback=True,
            timeout_seconds=0.5,
            tls=authority.client_context(),
        )
        urls = [
            f"http://127.0.0.1:{free_port()}/",  # nobody listens
            f"http://127.0.0.1:{raw[0].port}/",  # not HTTP
            f"https://{NAME}:{raw[0].port}/",  # not TLS
            f"http://127.0.0.1:{raw[1].port}/",  # says nothing: timed out
            f"https://{NAME}:{plain.port}/",  # plain HTTP where TLS was expected
            f"https://{NAME}:{wrong_name.port}/",  # a certificate for another name
            "https://nowhere.example.test/",  # does not resolve
        ]
        results = [send.post(url, BODY, HEADERS) for url in urls]
    finally:
        for server in raw:
            server.stop()
    assert [(r.status_code, r.error, r.blocked) for r in results] == [(None, NO_RESPONSE, False)] * len(urls)


# ---------------------------------------------------------------------- the system resolver


def test_the_system_resolver_reads_getaddrinfo_and_answers_special_names_itself() -> None:
    asked: list[tuple[Any, ...]] = []

    def getaddrinfo(host: str, port: int, family: int, kind: int) -> list[tuple[Any, ...]]:
        asked.append((host, port, family, kind))
        if host == "gone.example.test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (
                socket.AF_INET6,
                socket.SOCK_STREAM,
                6,
                "",
                ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", port, 0, 0),
            ),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),  # repeated
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%eth0", port, 0, 2)),
        ]

    resolver = SystemResolver(getaddrinfo)
    assert resolver.resolve("hooks.example.test", 443) == [
        ip_address("93.184.215.14"),
        ip_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c"),
        ip_address("fe80::1%eth0"),
    ]
    assert asked == [("hooks.example.test", 443, socket.AF_UNSPEC, socket.SOCK_STREAM)]
    assert resolver.resolve("gone.example.test", 443) == []
    # RFC 6761: localhost is this machine and .invalid never resolves, without asking anyone.
    asked.clear()
    assert resolver.resolve("localhost", 80) == [ip_address("127.0.0.1"), ip_address("::1")]
    assert resolver.resolve("api.LOCALHOST.", 80) == [ip_address("127.0.0.1"), ip_address("::1")]
    assert resolver.resolve("example.invalid", 443) == []
    assert resolver.resolve("invalid", 443) == []
    assert asked == []
