"""Session fixtures of the conformance suite: fresh tone model + WAVs (Bun), our transcripts (CLI)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "test" / "fixtures" / "frontend"
BUN = os.environ.get("BUN", shutil.which("bun") or "bun")
#: one encoder frame: word times of two implementations may differ by this much (segment offsets)
FRAME = 0.04 + 1e-6


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`bun src/main.ts ARGS` from the repository root."""
    return subprocess.run([BUN, "src/main.ts", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Runs test/conformance/make_fixtures.ts: the tone model, the WAVs and their manifest."""
    out = tmp_path_factory.mktemp("conformance")
    subprocess.run([BUN, "test/conformance/make_fixtures.ts", str(out)], cwd=ROOT, check=True, timeout=60)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["dir"] = str(out)
    manifest["cases"].append(
        # real speech (espeak-ng) through the tone model: many tokens, several frames at the 3-token cap
        {"name": "speech-ru", "wav": str(GOLDEN / "speech-ru.wav"), "sampleRate": 16000, "text": None}
    )
    return manifest


#: names of the cases, for parametrize (fixed list: make_fixtures.ts writes these)
TONE_CASES = ["short", "all-pieces", "direct-transitions", "varied-lengths", "long-with-pauses", "silence", "resampled-48k"]
ALL_CASES = [*TONE_CASES, "speech-ru"]


@pytest.fixture(scope="session")
def cases(fixtures: dict) -> dict[str, dict]:
    by_name = {c["name"]: c for c in fixtures["cases"]}
    assert sorted(by_name) == sorted(ALL_CASES)
    return by_name


@pytest.fixture(scope="session")
def ours(fixtures: dict, cases: dict[str, dict]) -> dict[str, dict]:
    """`gigastt transcribe --format json` of every WAV (our product, end to end)."""
    out = {}
    for name, case in cases.items():
        r = run_cli("transcribe", "--model-dir", fixtures["model"], "--offline", "--format", "json", case["wav"])
        assert r.returncode == 0, r.stderr
        out[name] = json.loads(r.stdout)
    return out


def assert_same_words(ref: list[tuple[str, float]], got: list[tuple[str, float]], what: str) -> None:
    """Same words in the same order, each start within one encoder frame."""
    assert [w for w, _ in got] == [w for w, _ in ref], what
    for (word, a), (_, b) in zip(ref, got, strict=True):
        assert abs(a - b) <= FRAME, f"{what}: '{word}' starts at {b} vs {a}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Server:
    http: str
    port: int
    wyoming_port: int


@pytest.fixture(scope="session")
def server(fixtures: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`gigastt serve --offline` on the tone model, with the Wyoming listener, on free loopback ports."""
    port, wyoming_port = free_port(), free_port()
    home = tmp_path_factory.mktemp("home")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "GIGASTT_OFFLINE": "1", "NO_COLOR": "1"}
    log = open(home / "serve.log", "wb")  # noqa: SIM115 - closed below
    args = [BUN, "src/main.ts", "serve", "--model-dir", fixtures["model"], "--offline", "--workers", "1"]
    args += ["--port", str(port), "--wyoming-port", str(wyoming_port)]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"serve exited {proc.returncode}: {(home / 'serve.log').read_text()[-2000:]}"
            try:
                with urllib.request.urlopen(f"{base}/ready", timeout=2) as r:
                    if json.load(r)["status"] == "ready":
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, f"serve not ready after 30 s: {(home / 'serve.log').read_text()[-2000:]}"
            time.sleep(0.1)
        yield Server(base, port, wyoming_port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def post_transcribe(server: Server, wav: str, fmt: str = "json") -> bytes:
    """Our native REST route, `POST /v1/transcribe?format=…` with the raw WAV as body."""
    with open(wav, "rb") as f:
        body = f.read()
    req = urllib.request.Request(f"{server.http}/v1/transcribe?format={fmt}", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()
