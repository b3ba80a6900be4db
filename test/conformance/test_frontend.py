"""Log-mel front end: our TypeScript features vs numpy (model.md §3.1), torchaudio's golden and onnx-asr's v3 preprocessor."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from conftest import GOLDEN, ROOT
from onnx_asr.preprocessors.numpy_preprocessor import GigaamPreprocessorNumpy
from onnx_asr.preprocessors.preprocessor import OnnxPreprocessor

import reference as ref

TOL = 1e-3


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    samples, rate = ref.read_pcm16_wav(GOLDEN / "speech-ru.wav")
    assert rate == 16000
    return samples


@pytest.fixture(scope="module")
def golden() -> np.ndarray:
    """torchaudio MelSpectrogram(center=False) with bf16 window and filters (scripts/gen_logmel_golden.py)."""
    meta = json.loads((GOLDEN / "speech-ru.json").read_text(encoding="utf-8"))
    return np.fromfile(GOLDEN / "speech-ru.logmel.f32", dtype="<f4").reshape(64, meta["frames"])


@pytest.fixture(scope="module")
def our_features(fixtures: dict, golden: np.ndarray) -> np.ndarray:
    """Our TypeScript log-mel of the same WAV (written by make_fixtures.ts)."""
    return np.fromfile(Path(fixtures["dir"]) / "speech-ru.logmel.ours.f32", dtype="<f4").reshape(64, -1)


def test_numpy_window_is_torch_periodic_hann_in_bf16() -> None:
    meta = json.loads((GOLDEN / "speech-ru.json").read_text(encoding="utf-8"))
    assert ref.WINDOW.view(np.uint32).tolist() == meta["windowBf16Bits"]


def test_committed_filter_table_is_torchaudio_htk() -> None:
    """src/frontend/mel-filters.generated.ts holds torchaudio's float32 HTK filterbank."""
    src = (ROOT / "src" / "frontend" / "mel-filters.generated.ts").read_text(encoding="utf-8")
    bands = re.findall(r"\{ start: (\d+), bits: \[([^\]]*)\] \}", src)
    assert len(bands) == 64
    table = np.zeros((ref.N_FREQS, 64), dtype=np.float32)
    for m, (start, bits) in enumerate(bands):
        vals = np.array([int(b, 16) for b in bits.split(",")], dtype=np.uint32).view(np.float32)
        table[int(start) : int(start) + len(vals), m] = vals
    recomputed = ref.mel_filters_f32()
    assert np.array_equal(table != 0, recomputed != 0)
    assert np.max(np.abs(table - recomputed)) < 1e-5


def test_numpy_reference_matches_torchaudio_golden(speech: np.ndarray, golden: np.ndarray) -> None:
    feats = ref.log_mel(speech)
    assert feats.shape == golden.shape == (64, (len(speech) - 320) // 160 + 1)
    assert np.max(np.abs(feats - golden)) <= TOL


def test_our_features_match_numpy_and_golden(speech: np.ndarray, golden: np.ndarray, our_features: np.ndarray) -> None:
    assert our_features.shape == golden.shape
    assert np.max(np.abs(our_features - ref.log_mel(speech))) <= TOL
    assert np.max(np.abs(our_features - golden)) <= TOL


def _onnx_asr_v3(backend: str, speech: np.ndarray) -> tuple[np.ndarray, int]:
    options = {"providers": ["CPUExecutionProvider"], "sess_options": ort.SessionOptions()}
    pre = {
        "stft-graph": lambda: OnnxPreprocessor("gigaam_v3", options),
        "conv-graph": lambda: OnnxPreprocessor("gigaam_v3_conv", options),
        "numpy": lambda: GigaamPreprocessorNumpy("gigaam_v3"),
    }[backend]()
    feats, lens = pre(speech[None, :], np.array([len(speech)], dtype=np.int64))
    assert feats.shape == (1, 64, int(lens[0]))
    return feats[0], int(lens[0])


@pytest.mark.parametrize("backend", ["conv-graph", "numpy"])
def test_onnx_asr_v3_preprocessor_matches_ours(backend: str, speech: np.ndarray, our_features: np.ndarray) -> None:
    """onnx-asr's GigaAM v3 preprocessors (the Conv-STFT ONNX graph it ships, its numpy twin) on the same samples."""
    feats, frames = _onnx_asr_v3(backend, speech)
    assert frames == our_features.shape[1]
    assert np.max(np.abs(feats - our_features)) <= TOL


def test_onnx_asr_default_stft_graph_matches_ours_above_its_float32_noise(speech: np.ndarray, our_features: np.ndarray) -> None:
    """onnx-asr's default CPU graph (op STFT, gigaam_v3.onnx) computes the 320-point DFT in float32: bands far below
    their frame's loudest band carry DFT rounding noise (up to ~0.04 in log-mel on this WAV, while the Conv graph,
    numpy and torchaudio agree to 3e-4). Within 5 nepers (~22 dB) of the frame maximum it agrees with ours."""
    feats, frames = _onnx_asr_v3("stft-graph", speech)
    assert frames == our_features.shape[1]
    loud = our_features > our_features.max(axis=0, keepdims=True) - 5
    assert loud.mean() > 0.5
    assert np.max(np.abs(feats - our_features)[loud]) <= TOL
    assert np.max(np.abs(feats - our_features)) <= 0.1
