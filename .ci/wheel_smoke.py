"""Build the wheel, install it in a fresh venv and run the demo from it: health, one invoice.

The accepted invoice's receipt is then checked by the installed ``gateway invoice
verify-receipt`` against the key set the demo publishes.

Everything happens in a temporary folder outside the source tree, so nothing can be imported
from the checkout: a file the code reads at run time but the wheel lacks fails here. Exits
non-zero, with the demo's output, at the first thing that does not hold.

    python .ci/wheel_smoke.py
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_SECONDS = 90


class SmokeFailed(Exception):
    pass


def run(*command: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=clean_env(), capture_output=True, text=True
    )
    if done.returncode:
        raise SmokeFailed(f"{shlex.join(map(str, command))} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the gateway's settings, a venv or an import path of CI's own."""
    dropped = ("GATEWAY_", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE")
    kept = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    return {**kept, "PYTHONUNBUFFERED": "1", **extra}


def build_wheel(work: Path) -> Path:
    """The wheel of the working tree's files (tracked or new, not ignored), built in a copy."""
    source = work / "source"
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "-w",
        work / "dist",
        ".",
        cwd=source,
    )
    (wheel,) = (work / "dist").glob("*.whl")
    return wheel


def check_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [
        f"integrations/einvoice/xsd/{xsd.name}"
        for xsd in sorted((ROOT / "xsd").glob("*.xsd"))
        if f"integrations/einvoice/xsd/{xsd.name}" not in names
    ]
    if missing:
        raise SmokeFailed(f"{wheel.name} lacks {', '.join(missing)}")


def install(wheel: Path, work: Path) -> Path:
    venv = work / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=work)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=work)
    where = run(
        venv / "bin" / "python", "-c", "import integrations; print(integrations.__file__)", cwd=work
    )
    if not Path(where.strip()).is_relative_to(venv):
        raise SmokeFailed(f"integrations was imported from {where.strip()}, not from {venv}")
    return venv


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(
    url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    call = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(call, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def wait_until_healthy(base: str, demo: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            raise SmokeFailed(f"gateway demo exited with {demo.returncode}")
        try:
            if request(f"{base}/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SmokeFailed(f"/healthz did not answer within {START_SECONDS} s")


def submit_an_example(base: str, guide: str, run_dir: Path) -> dict[str, object]:
    """Post the restaurant example as the guide says, with the token it printed; 201 expected."""
    tokens = dict(re.findall(r"export (\w+)=(\S+)", guide))
    line = next(
        line for line in guide.splitlines() if "/v1/invoices" in line and "restaurant" in line
    )
    merchant = re.search(r"\$(\w+)", line)
    example = run_dir / shlex.split(line.split("@", 1)[1])[0]
    if merchant is None or merchant.group(1) not in tokens:
        raise SmokeFailed(f"no merchant token for: {line}")
    status, body = request(
        f"{base}/v1/invoices",
        body=example.read_bytes(),
        headers={
            "Content-Type": "application/xml",
            "Authorization": f"Bearer {tokens[merchant.group(1)]}",
        },
    )
    if status != 201:
        raise SmokeFailed(f"submitting {example.name} answered {status}: {body.decode()}")
    receipt: dict[str, object] = json.loads(body)
    return receipt


def check_the_receipt(receipt: dict[str, object], jwks_url: str, venv: Path, run_dir: Path) -> None:
    """The installed ``gateway invoice verify-receipt`` checks it against the published keys."""
    saved = run_dir / "receipt.json"
    saved.write_text(json.dumps(receipt), encoding="utf-8")
    run(
        venv / "bin" / "gateway",
        "invoice",
        "verify-receipt",
        saved,
        "--jwks",
        jwks_url,
        cwd=run_dir,
    )


def stop(demo: subprocess.Popen[bytes]) -> None:
    demo.send_signal(signal.SIGINT)
    try:
        demo.wait(timeout=30)
    except subprocess.TimeoutExpired:
        demo.kill()
        demo.wait()
        raise SmokeFailed("gateway demo did not stop within 30 s of SIGINT") from None


def smoke(work: Path) -> None:
    started = time.monotonic()
    wheel = build_wheel(work)
    check_contents(wheel)
    venv = install(wheel, work)
    print(f"built and installed {wheel.name} in {time.monotonic() - started:.0f} s", flush=True)
    run_dir, log = work / "run", work / "demo.log"
    run_dir.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        demo = subprocess.Popen(
            [venv / "bin" / "gateway", "demo", "--port", str(port)],
            cwd=run_dir,
            env=clean_env(GATEWAY_DATA_DIR=str(run_dir / "data")),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_healthy(base, demo)
            receipt = submit_an_example(base, log.read_text(encoding="utf-8"), run_dir)
            check_the_receipt(receipt, f"{base}/.well-known/jwks.json", venv, run_dir)
        except (SmokeFailed, OSError, StopIteration) as failure:
            raise SmokeFailed(f"{failure}\n--- gateway demo said:\n{log.read_text()}") from None
        finally:
            stop(demo)
    print(f"demo from the wheel accepted and signed receipt {receipt['receiptId']}", flush=True)
    print(f"wheel smoke test passed in {time.monotonic() - started:.0f} s", flush=True)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="gateway-wheel-"))
    try:
        smoke(work)
    except SmokeFailed as failure:
        print(f"wheel smoke test FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
