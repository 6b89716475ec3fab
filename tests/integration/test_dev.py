"""`plutomi dev` as a developer runs it: on its own ports, found by the other commands through the
same settings, every handler imported in the main thread before any serves, and one Ctrl-C (SIGINT)
stops all of it cleanly: exit status 0, no traceback. With `--only`, its parts run (and restart) in
processes of their own against the same services."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from plutomi.runtime.embedded import free_port
from plutomi.topology import all_functions, module_of
from tests.conftest import unique_email
from tests.integration.test_cli import ROOT, local_environment
from tests.support.cli import run_plutomi
from tests.support.import_watch import first_imports

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


def wait_for_health(base_url: str, process: subprocess.Popen[bytes], logs: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"{base_url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, f"plutomi dev exited early:\n{logs.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"/health did not answer:\n{logs.read_text()[-3000:]}"
        time.sleep(0.2)


def wait_for_login_email(email: str, env: dict[str, str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while "login code" not in (mail := run_plutomi("mail", "--to", email, env=env)).stdout:
        assert mail.returncode == 0, mail.stderr
        assert time.monotonic() < deadline, f"no login code email: {mail.stdout}"
        time.sleep(0.5)


def test_one_ctrl_c_stops_plutomi_dev_cleanly(tmp_path: Path) -> None:
    ports = {"nats": free_port(), "mongodb": free_port(), "aws": free_port()}
    mailbox_port = free_port()
    env = local_environment(**ports) | {
        "PLUTOMI_PORT": str(free_port()),
        "PLUTOMI_MAILBOX_PORT": str(mailbox_port),
    }
    base_url = f"http://127.0.0.1:{env['PLUTOMI_PORT']}"
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    report, watched = tmp_path / "imports.jsonl", [sys.executable, "-m", "tests.support.import_watch"]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [*watched, str(report), "dev", "--data-dir", str(tmp_path / "data")],
            stdout=out,
            stderr=err,
            env=env,
            cwd=ROOT,
        )
    try:
        wait_for_health(base_url, process, stderr)
        email = unique_email("dev")
        assert httpx.post(f"{base_url}/auth/totp", json={"email": email}, timeout=20).status_code == 202
        # Other commands find dev's services by the same PLUTOMI_*_PORT settings, and consumers ran.
        wait_for_login_email(email, env, timeout=20)
        # The local mailbox shows the same email, to a person in a browser.
        mailbox = httpx.get(f"http://127.0.0.1:{mailbox_port}/", params={"to": email}, timeout=20)
        assert mailbox.status_code == 200 and "login code" in mailbox.text and email in mailbox.text
        assert "script-src 'self'" in mailbox.headers["content-security-policy"]
        sign_in_page = httpx.get(f"{base_url}/", follow_redirects=True, timeout=20)
        assert sign_in_page.status_code == 200 and "Email me a code" in sign_in_page.text
        listed = run_plutomi("dlq", "list", env=env)
        assert listed.returncode == 0 and "the DLQ is empty" in listed.stdout, listed.stderr

        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=STOP_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    printed, complained = stdout.read_text(), stderr.read_text()
    assert code == 0, complained[-3000:]
    assert "Traceback" not in printed + complained, complained[-5000:]
    assert printed.rstrip().endswith("plutomi dev: stopped"), printed[-2000:]
    # Its gateway, bridges, pollers and schedules call handlers from threads: none imported one there.
    imported = first_imports(report)
    assert {module_of(function) for function in all_functions()} <= set(imported)
    assert {name for name, in_main in imported.items() if not in_main} == set()


class DevPart:
    """`plutomi dev --only PARTS` in a subprocess, its output in files under `logs`."""

    def __init__(self, parts: str, env: dict[str, str], logs: Path) -> None:
        self.parts, self.logs = parts, logs
        self.stdout, self.stderr = logs / f"{parts}.{time.monotonic_ns()}.out", logs / f"{parts}.err"
        with self.stdout.open("wb") as out, self.stderr.open("ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "plutomi.runtime.cli", "dev", "--only", parts,
                 "--data-dir", str(logs / "data")],
                stdout=out, stderr=err, env=env, cwd=ROOT,
            )  # fmt: skip

    def printed(self) -> str:
        return self.stdout.read_text()

    def wait_for(self, line: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while line not in self.printed():
            assert self.process.poll() is None, f"{self.parts} exited:\n{self.stderr.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"{self.parts} did not print {line!r}:\n{self.printed()}"
            time.sleep(0.2)

    def stop(self) -> None:
        """One SIGINT: exit status 0, no traceback, and the last line says so."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        complained = self.stderr.read_text()
        assert code == 0, f"{self.parts}: {complained[-3000:]}"
        assert "Traceback" not in self.printed() + complained, complained[-5000:]
        assert self.printed().rstrip().endswith("plutomi dev: stopped"), self.printed()[-2000:]


def test_parts_of_plutomi_dev_run_and_restart_on_their_own(tmp_path: Path) -> None:
    ports = {"nats": free_port(), "mongodb": free_port(), "aws": free_port()}
    env = local_environment(**ports) | {"PLUTOMI_PORT": str(free_port())}
    base_url = f"http://127.0.0.1:{env['PLUTOMI_PORT']}"
    running: list[DevPart] = []
    try:
        running.append(services := DevPart("services", env, tmp_path))
        services.wait_for("plutomi dev: running")
        running.append(api := DevPart("gateway", env, tmp_path))  # no relay: nothing is published
        wait_for_health(base_url, api.process, api.stderr)
        running.append(pipeline := DevPart("relay,bridges", env, tmp_path))
        pipeline.wait_for("plutomi dev: running")
        assert "relay    outbox" in pipeline.printed() and "bridge   webhooks-retry" in pipeline.printed()
        assert "(running)" in pipeline.printed() and "bridge" not in api.printed()

        first = unique_email("parts")
        assert httpx.post(f"{base_url}/auth/totp", json={"email": first}, timeout=20).status_code == 202
        wait_for_login_email(first, env)

        running.remove(pipeline)
        pipeline.stop()
        second = unique_email("parts")
        assert httpx.post(f"{base_url}/auth/totp", json={"email": second}, timeout=20).status_code == 202
        time.sleep(2)
        waiting = run_plutomi("mail", "--to", second, env=env)
        assert "login code" not in waiting.stdout, "the gateway runs no relay of its own under --only"
        running.append(one := DevPart("relay,notifications", env, tmp_path))  # one tier by name
        one.wait_for("plutomi dev: running")
        assert "bridge   notifications <-" in one.printed() and "notifications-retry" not in one.printed()
        wait_for_login_email(second, env)
    finally:
        for part in reversed(running):  # the services last
            part.stop()


def test_plutomi_dev_names_the_parts_when_asked_for_an_unknown_one_or_for_missing_services() -> None:
    unknown = run_plutomi("dev", "--only", "relay,brigdes", env=local_environment())
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr, unknown.stderr
    message = unknown.stderr.strip()
    assert message.startswith("plutomi dev: unknown part 'brigdes'; the parts are services, gateway"), message
    for name in ("bridges", "jobs", "notifications-retry", "super-meta", "ses-feedback", "idle-sweeper"):
        assert name in message, name

    closed = {"nats": free_port(), "mongodb": free_port(), "aws": free_port()}
    missing = run_plutomi("dev", "--only", "relay", env=local_environment(**closed))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr, missing.stderr
    assert f"nats://127.0.0.1:{closed['nats']} (NATS_URL)" in missing.stderr
    assert "plutomi dev --only services" in missing.stderr
