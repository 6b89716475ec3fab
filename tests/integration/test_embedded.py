"""Integration tests for plutomi.runtime.embedded and plutomi.runtime.local_mail.

Real nats-server / nx-27017 / moto_server processes, no mocks.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import nats
import pytest
from pymongo import MongoClient

from plutomi.runtime import local_mail
from plutomi.runtime.embedded import EmbeddedServices, Endpoints, free_port
from plutomi.runtime.local_mail import list_sent_emails

STREAM = "EMBEDDED_TEST"
SENDER = "noreply@plutomi.test"
# Fail fast: nats-py retries the *initial* connect max_reconnect_attempts times (0 means forever).
NATS_OPTS: dict[str, Any] = {
    "connect_timeout": 2,
    "allow_reconnect": False,
    "max_reconnect_attempts": 1,
    "reconnect_time_wait": 0.1,
}


# ---------------------------------------------------------------------- helpers


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _assert_all_dead(pids: dict[str, int]) -> None:
    alive = {name: pid for name, pid in pids.items() if _pid_alive(pid)}
    assert not alive, f"processes still alive after stop(): {alive}"


async def _nats_create_and_publish(url: str, payload: bytes) -> tuple[str, int]:
    nc = await nats.connect(url, **NATS_OPTS)
    try:
        js = nc.jetstream()
        await js.add_stream(name=STREAM, subjects=["embedded.test.>"])
        ack = await js.publish("embedded.test.one", payload)
        return ack.stream, ack.seq
    finally:
        await nc.close()


async def _nats_read(url: str) -> tuple[int, bytes]:
    nc = await nats.connect(url, **NATS_OPTS)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM)
        msg = await js.get_msg(STREAM, 1)
        return info.state.messages, msg.data or b""
    finally:
        await nc.close()


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("nats://").rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def _mongo(url: str) -> MongoClient[dict[str, Any]]:
    return MongoClient(url, serverSelectionTimeoutMS=3000)


def _sesv2(endpoint: str) -> Any:
    return boto3.client(
        "sesv2",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _mime(to: str, subject: str, text: str, html: str) -> bytes:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = f"Plutomi <{SENDER}>"
    msg["To"] = to
    msg["List-Unsubscribe"] = "<https://plutomi.test/unsubscribe?u=1>"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


@pytest.fixture
def ports() -> dict[str, int]:
    return {"nats": free_port(), "mongodb": free_port(), "aws": free_port()}


def _services(data_dir: Path, ports: dict[str, int]) -> EmbeddedServices:
    return EmbeddedServices(
        data_dir, nats_port=ports["nats"], mongodb_port=ports["mongodb"], aws_port=ports["aws"]
    )


@pytest.fixture
def aws_only(tmp_path: Path) -> Iterator[tuple[EmbeddedServices, Endpoints]]:
    services = EmbeddedServices(
        tmp_path, nats_url="nats://127.0.0.1:1", mongodb_url="mongodb://127.0.0.1:1", aws_port=free_port()
    )
    try:
        yield services, services.start()
    finally:
        services.stop()


# ---------------------------------------------------------------------- tests


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 0 < port < 65536
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_all_services_answer_and_data_survives_stop_start(tmp_path: Path, ports: dict[str, int]) -> None:
    services = _services(tmp_path, ports)
    try:
        endpoints = services.start()
        assert endpoints == Endpoints(
            nats_url=f"nats://127.0.0.1:{ports['nats']}",
            mongodb_url=f"mongodb://127.0.0.1:{ports['mongodb']}",
            aws_endpoint_url=f"http://127.0.0.1:{ports['aws']}",
        )
        assert services.started() == ["nats", "mongodb", "aws"]
        assert services.start() == endpoints  # idempotent while running
        first_pids = services.pids()
        assert set(first_pids) == {"nats", "mongodb", "aws"}
        assert all(_pid_alive(pid) for pid in first_pids.values())

        stream, seq = asyncio.run(_nats_create_and_publish(endpoints.nats_url, b"survives"))
        assert (stream, seq) == (STREAM, 1)

        with _mongo(endpoints.mongodb_url) as client:
            client.plutomi_test.applicants.insert_one({"_id": "app_1", "name": "Ada"})
            assert client.plutomi_test.applicants.find_one({"_id": "app_1"}) == {
                "_id": "app_1",
                "name": "Ada",
            }

        sesv2 = _sesv2(endpoints.aws_endpoint_url)
        sesv2.create_email_identity(EmailIdentity=SENDER)
        assert list_sent_emails(endpoints.aws_endpoint_url) == []
    finally:
        services.stop()

    _assert_all_dead(first_pids)
    assert services.started() == []
    services.stop()  # idempotent

    for name in ("nats", "mongodb", "aws"):
        assert (tmp_path / "logs" / f"{name}.log").stat().st_size > 0

    # Same data_dir and ports, new object: NATS and MongoDB data are still there.
    again = _services(tmp_path, ports)
    try:
        endpoints2 = again.start()
        assert endpoints2 == endpoints
        messages, data = asyncio.run(_nats_read(endpoints2.nats_url))
        assert (messages, data) == (1, b"survives")
        with _mongo(endpoints2.mongodb_url) as client:
            assert client.plutomi_test.applicants.find_one({"_id": "app_1"}) == {
                "_id": "app_1",
                "name": "Ada",
            }
        second_pids = again.pids()
    finally:
        again.stop()
    _assert_all_dead(second_pids)


def test_restart_and_kill_nats_keep_the_stream(tmp_path: Path) -> None:
    port = free_port()
    with EmbeddedServices(
        tmp_path, nats_port=port, mongodb_url="mongodb://127.0.0.1:1", aws_endpoint_url="http://127.0.0.1:1"
    ) as services:
        assert services.started() == ["nats"]
        url = services.endpoints.nats_url
        assert url == f"nats://127.0.0.1:{port}"
        assert asyncio.run(_nats_create_and_publish(url, b"kept")) == (STREAM, 1)

        pid_before = services.pids()["nats"]
        services.restart_nats()
        pid_after = services.pids()["nats"]
        assert pid_after != pid_before
        assert not _pid_alive(pid_before)
        assert services.endpoints.nats_url == url
        assert asyncio.run(_nats_read(url)) == (1, b"kept")

        services.kill_nats()
        assert not _pid_alive(pid_after)
        assert not _port_open(url)
        services.restart_nats()
        assert asyncio.run(_nats_read(url)) == (1, b"kept")
        last_pid = services.pids()["nats"]
    assert not _pid_alive(last_pid)
    assert services.started() == []


def test_restart_nats_requires_a_nats_we_started(tmp_path: Path) -> None:
    services = EmbeddedServices(tmp_path, nats_url="nats://127.0.0.1:1")
    with pytest.raises(RuntimeError, match="nats"):
        services.restart_nats()
    with pytest.raises(RuntimeError, match="nats"):
        EmbeddedServices(tmp_path).kill_nats()


def test_busy_port_fails_clearly_and_leaves_nothing_running(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_port = busy.getsockname()[1]
        services = EmbeddedServices(tmp_path, mongodb_port=busy_port, aws_endpoint_url="http://127.0.0.1:1")
        with pytest.raises(RuntimeError, match=rf"mongodb.*{busy_port}.*in use"):
            services.start()
    assert services.started() == []
    assert services.pids() == {}


def test_failed_start_names_the_service_and_shows_its_log(tmp_path: Path) -> None:
    # A file where nats-server wants its JetStream store directory makes it exit at startup.
    (tmp_path / "nats").mkdir()
    (tmp_path / "nats" / "jetstream").write_text("not a directory")
    services = EmbeddedServices(tmp_path, mongodb_url="mongodb://127.0.0.1:1", aws_endpoint_url="http://x:1")
    with pytest.raises(RuntimeError) as excinfo:
        services.start()
    message = str(excinfo.value)
    assert message.startswith("nats")
    assert "nats-server" in message  # the tail of its log
    assert "jetstream" in message.lower()
    assert services.started() == []


def test_list_sent_emails_reads_raw_mime_newest_first(aws_only: tuple[EmbeddedServices, Endpoints]) -> None:
    services, endpoints = aws_only
    assert services.started() == ["aws"]
    assert endpoints.nats_url == "nats://127.0.0.1:1"
    sesv2 = _sesv2(endpoints.aws_endpoint_url)
    sesv2.create_email_identity(EmailIdentity=SENDER)

    first = sesv2.send_email(
        Content={
            "Raw": {
                "Data": _mime(
                    "Ada@Example.com",
                    "Your login code",
                    "Your code is 111111",
                    "<p>Your code is <b>111111</b></p>",
                )
            }
        }
    )
    second = sesv2.send_email(
        Content={
            "Raw": {
                "Data": _mime(
                    "bob@example.com",
                    "Welcome to Plutomi ✓",
                    "Hello Bob, café",
                    "<h1>Hello Bob, caf&eacute;</h1>",
                )
            }
        }
    )

    emails = list_sent_emails(endpoints.aws_endpoint_url)
    assert [e.message_id for e in emails] == [second["MessageId"], first["MessageId"]]

    newest, oldest = emails
    assert newest.subject == "Welcome to Plutomi ✓"
    assert newest.to == ("bob@example.com",)
    assert newest.text.strip() == "Hello Bob, café"
    assert newest.html is not None and "<h1>Hello Bob" in newest.html
    assert SENDER in newest.source

    assert oldest.subject == "Your login code"
    assert oldest.to == ("Ada@Example.com",)
    assert oldest.text.strip() == "Your code is 111111"
    assert oldest.headers["List-Unsubscribe"] == "<https://plutomi.test/unsubscribe?u=1>"
    assert oldest.headers["To"] == "Ada@Example.com"

    only_ada = list_sent_emails(endpoints.aws_endpoint_url, to="ada@EXAMPLE.com")
    assert [e.message_id for e in only_ada] == [first["MessageId"]]
    assert (
        list_sent_emails(endpoints.aws_endpoint_url, to="Bob <BOB@example.com>")[0].subject == newest.subject
    )
    assert list_sent_emails(endpoints.aws_endpoint_url, to="nobody@example.com") == []


def test_list_sent_emails_includes_simple_emails(aws_only: tuple[EmbeddedServices, Endpoints]) -> None:
    _, endpoints = aws_only
    sesv2 = _sesv2(endpoints.aws_endpoint_url)
    sesv2.create_email_identity(EmailIdentity=SENDER)
    sent = sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["carol@example.com"], "CcAddresses": ["dave@example.com"]},
        Content={
            "Simple": {
                "Subject": {"Data": "Simple one"},
                "Body": {
                    "Html": {"Data": "<p>Line one</p><p>Line &amp; two</p>"},
                    "Text": {"Data": "ignored"},
                },
            }
        },
    )
    (mail,) = list_sent_emails(endpoints.aws_endpoint_url, to="dave@example.com")
    assert mail.message_id == sent["MessageId"]
    assert mail.subject == "Simple one"
    assert mail.to == ("carol@example.com", "dave@example.com")
    assert mail.html == "<p>Line one</p><p>Line &amp; two</p>"
    assert mail.text == "Line one\n\nLine & two"
    assert mail.source == SENDER


_CHILD_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from plutomi.runtime.embedded import EmbeddedServices

    services = EmbeddedServices(Path(sys.argv[1]))
    services.start()
    print(json.dumps(services.pids()), flush=True)
    if sys.argv[2] == "wait":
        time.sleep(60)
    # else: exit without calling stop(): the atexit hook must stop the children
    """
)


def _wait_dead(pids: dict[str, int], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while any(_pid_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphans = {name: pid for name, pid in pids.items() if _pid_alive(pid)}
    for pid in orphans.values():  # don't leak them when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not orphans, f"orphaned service processes: {orphans}"


@pytest.mark.parametrize("how", ["exit", "sigterm"])
def test_parent_exit_or_sigterm_leaves_no_orphans(tmp_path: Path, how: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _CHILD_SCRIPT, str(tmp_path), "wait" if how == "sigterm" else "exit"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line, "the parent process died before starting the services"
        pids: dict[str, int] = json.loads(line)
        assert set(pids) == {"nats", "mongodb", "aws"}
        if how == "sigterm":
            assert all(_pid_alive(pid) for pid in pids.values())
            parent.send_signal(signal.SIGTERM)
        code = parent.wait(timeout=20)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert code == (-signal.SIGTERM if how == "sigterm" else 0)
    _wait_dead(pids)


def parses_counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the raw emails `local_mail` parses from now on, in order."""
    parsed: list[str] = []
    parse = local_mail._from_raw

    def counting(entry: Mapping[str, Any]) -> local_mail.SentEmail:
        parsed.append(str(entry.get("id")))
        return parse(entry)

    monkeypatch.setattr(local_mail, "_from_raw", counting)
    return parsed


def test_list_sent_emails_for_one_address_parses_only_the_messages_moto_lists_for_it(
    aws_only: tuple[EmbeddedServices, Endpoints], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local SES keeps every email of its life: a look-up for one address must not parse them all."""
    _, endpoints = aws_only
    sesv2 = _sesv2(endpoints.aws_endpoint_url)
    sesv2.create_email_identity(EmailIdentity=SENDER)
    for person in ("erin@example.com", "frank@example.com", "grace@example.com"):
        sesv2.send_email(
            FromEmailAddress=SENDER,
            Destination={"ToAddresses": [person]},
            Content={"Raw": {"Data": _mime(person, f"For {person}", "text", "<p>text</p>")}},
        )
    parsed = parses_counted(monkeypatch)
    (mail,) = list_sent_emails(endpoints.aws_endpoint_url, to="Frank <FRANK@example.com>")
    assert mail.subject == "For frank@example.com"
    assert parsed == [mail.message_id]


def test_sent_recipients_lists_every_email_s_recipients_without_parsing_them(
    aws_only: tuple[EmbeddedServices, Endpoints], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, endpoints = aws_only
    sesv2 = _sesv2(endpoints.aws_endpoint_url)
    sesv2.create_email_identity(EmailIdentity=SENDER)
    before = len(local_mail.sent_recipients(endpoints.aws_endpoint_url))
    sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["heidi@example.com"]},
        Content={"Raw": {"Data": _mime("heidi@example.com", "Listed", "text", "<p>text</p>")}},
    )
    sesv2.send_email(Content={"Raw": {"Data": _mime("ivan@example.com", "Headers only", "t", "<p>t</p>")}})
    parsed = parses_counted(monkeypatch)
    listed = local_mail.sent_recipients(endpoints.aws_endpoint_url)
    assert listed[:2] == [("ivan@example.com",), ("heidi@example.com",)]
    assert len(listed) == before + 2
    assert parsed == [], "moto lists the recipients (from the headers when no destination was given)"
