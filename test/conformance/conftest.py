"""Session fixtures of the conformance suite: fresh tone model + WAVs (Bun), our transcripts (CLI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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
