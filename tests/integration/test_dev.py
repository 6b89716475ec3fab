"""`plutomi dev` as a developer runs it: on its own ports, found by the other commands through the
same settings, every handler imported in the main thread before any serves, and one Ctrl-C (SIGINT)
stops all of it cleanly: exit status 0, no traceback."""

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


def test_one_ctrl_c_stops_plutomi_dev_cleanly(tmp_path: Path) -> None:
    ports = {"nats": free_port(), "mongodb": free_port(), "aws": free_port()}
    env = local_environment(**ports) | {"PLUTOMI_PORT": str(free_port())}
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
        deadline = time.monotonic() + 20
        while "login code" not in (mail := run_plutomi("mail", "--to", email, env=env)).stdout:
            assert mail.returncode == 0, mail.stderr
            assert time.monotonic() < deadline, f"no login code email: {mail.stdout}"
            time.sleep(0.5)
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
