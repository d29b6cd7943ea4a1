"""`gateway demo` on a fresh data folder: it starts, prints working tokens and commands."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port

pytestmark = pytest.mark.usefixtures("clean_environ")


def wait_for_guide(process: subprocess.Popen[str]) -> list[str]:
    """The guide's lines, read until the server says it is running."""
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline() if process.stdout else ""
        if not line and process.poll() is not None:
            raise AssertionError("gateway demo exited:\n" + "".join(lines))
        lines.append(line)
        if "Uvicorn running on" in line:
            return lines
    raise AssertionError("gateway demo did not start:\n" + "".join(lines))


def test_demo_serves_what_its_guide_promises(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "demo"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        guide = wait_for_guide(process)
        tokens = dict(re.findall(r"export (\w+)=(\S+)", "".join(guide)))
        submit = next(line for line in guide if "v1/invoices" in line and "restaurant" in line)
        merchant = re.search(r"\$(\w+)", submit).group(1)
        example = tmp_path / shlex.split(submit.split("@", 1)[1])[0]
        base = f"http://127.0.0.1:{port}"
        accepted = httpx.post(
            f"{base}/v1/invoices",
            content=example.read_bytes(),
            headers={
                "Content-Type": "application/xml",
                "Authorization": f"Bearer {tokens[merchant]}",
            },
            timeout=10,
        )
        me = httpx.post(
            f"{base}/graphql",
            json={"query": "{ me { fullName taxpayer { status } } }"},
            headers={"Authorization": f"Bearer {tokens['CITIZEN_TOKEN']}"},
            timeout=10,
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert accepted.status_code == 201, accepted.text
    assert me.json()["data"]["me"]["fullName"] == "Nguyễn Văn An"
    assert (tmp_path / "data" / "gateway.sqlite3").exists()
