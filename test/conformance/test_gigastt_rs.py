"""The Rust gigastt engine (PyPI `gigastt`, module gigastt_uniffi) on our tone model vs our transcripts.

What it takes to load a folder there (gigastt-core's model resolution):
- it runs INT8 only: it refuses a folder without an INT8 encoder file; the tone encoder has no
  weights at all (MaxPool), so its int8 form is the same graph (`gigastt quantize` says "no MatMul
  with a constant weight to quantize");
- files under the official names are checked against pinned SHA-256 digests of the real release, so
  the tone files are refused under those names ("model load error at …/v3_e2e_rnnt_vocab.txt");
- a `manifest.toml` (its documented format for custom packs) names the files instead: that is what
  the test writes, in its own folder.
- the wheel (tagged manylinux_2_28) imports glibc 2.38's __isoc23_strtol*; on an older glibc a
  4-line shim (test/conformance/isoc23_shim.c) is compiled and loaded RTLD_GLOBAL first.

Known, documented differences (model.md §3.2, §4.1, §5.4), asserted as such: its word end is the last
token's frame (ours adds one frame), and its per-frame token cap is 10 (ours, GigaAM's ONNX helper and
onnx-asr use 3).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ALL_CASES, FRAME, ROOT, TONE_CASES, assert_same_words

MANIFEST = """architecture = "e2e_rnnt"
[files]
encoder = "tone_encoder.onnx"
encoder_int8 = "tone_encoder_int8.onnx"
decoder = "tone_decoder.onnx"
joint = "tone_joint.onnx"
vocab = "tone_vocab.txt"
"""


def _glibc_below(major: int, minor: int) -> bool:
    version = os.confstr("CS_GNU_LIBC_VERSION") or ""  # "glibc 2.36"
    parts = version.split()[-1].split(".") if version else []
    return len(parts) >= 2 and (int(parts[0]), int(parts[1])) < (major, minor)


@pytest.fixture(scope="module")
def g(tmp_path_factory: pytest.TempPathFactory):
    if _glibc_below(2, 38):
        out = tmp_path_factory.mktemp("shim") / "isoc23_shim.so"
        cc = shutil.which("cc") or shutil.which("gcc")
        assert cc, "a C compiler is needed to load the gigastt wheel on glibc < 2.38"
        subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(out), str(ROOT / "test/conformance/isoc23_shim.c")], check=True)
        ctypes.CDLL(str(out), mode=ctypes.RTLD_GLOBAL)
    import gigastt_uniffi

    return gigastt_uniffi


@pytest.fixture(scope="module")
def pack(fixtures: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = Path(fixtures["model"])
    folder = tmp_path_factory.mktemp("gigastt-rs-model")
    for part in ("encoder", "decoder", "joint"):
        shutil.copy(src / f"v3_e2e_rnnt_{part}.onnx", folder / f"tone_{part}.onnx")
    shutil.copy(src / "v3_e2e_rnnt_encoder.onnx", folder / "tone_encoder_int8.onnx")
    shutil.copy(src / "v3_e2e_rnnt_vocab.txt", folder / "tone_vocab.txt")
    (folder / "manifest.toml").write_text(MANIFEST, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def engine(g, pack: Path):
    return g.Engine(str(pack))


@pytest.fixture(scope="module")
def transcripts(engine, cases: dict[str, dict]) -> dict:
    return {name: engine.transcribe_file(cases[name]["wav"]) for name in ALL_CASES}


def test_refuses_a_folder_without_an_int8_encoder(g, fixtures: dict) -> None:
    with pytest.raises(g.GigasttFfiError.ModelNotFound):
        g.Engine(fixtures["model"])


@pytest.mark.parametrize("name", TONE_CASES)
def test_tone_text_words_and_times(name: str, transcripts: dict, ours: dict[str, dict], cases: dict[str, dict]) -> None:
    t = transcripts[name]
    assert t.text == ours[name]["text"] == cases[name]["text"]
    mine = ours[name]["words"]
    assert_same_words([(w.text, w.start_s) for w in t.words], [(w["word"], w["start"]) for w in mine], name)
    for theirs, w in zip(t.words, mine, strict=True):
        # its end is the last token's frame; ours is one frame later (GigaAM's timestamps_utils)
        assert abs((theirs.end_s + 0.04) - w["end"]) <= FRAME, f"{name}: '{w['word']}' ends {theirs.end_s} vs {w['end']}"
        assert abs(theirs.confidence - w["confidence"]) <= 0.02
    assert abs(t.duration_s - ours[name]["duration"]) <= 1e-3


def test_speech_differs_only_by_the_per_frame_cap(transcripts: dict, ours: dict[str, dict]) -> None:
    """Real speech through the tone model: tokens at the same frames; where ours stops at 3 tokens in one frame the
    Rust engine goes on to 10 (model.md §4.1). Wherever both enter a frame with the same previous token (the
    decoder state), both emit the same first tokens there."""

    def by_frame(words: list[tuple[str, float]]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for word, start in words:
            out.setdefault(round(start / 0.04), []).append(word)
        return out

    mine = by_frame([(w["word"], w["start"]) for w in ours["speech-ru"]["words"]])
    theirs = by_frame([(w.text, w.start_s) for w in transcripts["speech-ru"].words])
    assert sorted(mine) == sorted(theirs)
    capped = compared = 0
    last_mine = last_theirs = None
    for frame in sorted(mine):
        a, b = mine[frame], theirs[frame]
        assert len(a) <= 3 and len(b) <= 10
        if len(a) == 3:
            capped += 1
            assert len(b) == 10, f"frame {frame}: {b}"
        else:
            assert len(b) == len(a), f"frame {frame}: {b} vs {a}"
        if last_mine == last_theirs:
            compared += 1
            assert b[: len(a)] == a, f"frame {frame}: {b} vs {a}"
        last_mine, last_theirs = a[-1], b[-1]
    assert capped >= 3 and compared >= 3
