"""onnx-asr (the reference runtime of the Hugging Face GigaAM v3 export) on our tone model vs our transcripts.

onnx-asr loads a local folder by the real file names. Without a config.json beside them it picks its
GigaAM *v2* preprocessor (n_fft 400, centred frames): the HF folder ships a config.json saying
version v3, so the test writes the same kind of file into its own copy of the model (never into the
product's model folder).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx_asr
import pytest
from conftest import ALL_CASES, assert_same_words

CONFIG = {"model_type": "gigaam", "version": "v3", "features_size": 64, "subsampling_factor": 4, "max_tokens_per_step": 3}


@pytest.fixture(scope="module")
def asr(fixtures: dict, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("onnx-asr-model")
    for f in Path(fixtures["model"]).iterdir():
        shutil.copy(f, folder / f.name)
    (folder / "config.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    model = onnx_asr.load_model("gigaam-v3-e2e-rnnt", folder, providers=["CPUExecutionProvider"])
    return model.with_timestamps()


@pytest.fixture(scope="module")
def recognized(asr, cases: dict[str, dict]) -> dict:
    # onnx-asr reads the WAV itself (and resamples 48 kHz with its own ONNX resampler)
    return {name: asr.recognize(cases[name]["wav"]) for name in ALL_CASES}


@pytest.mark.parametrize("name", ALL_CASES)
def test_text_is_identical(name: str, recognized: dict, ours: dict[str, dict], cases: dict[str, dict]) -> None:
    assert recognized[name].text == ours[name]["text"]
    if cases[name]["text"] is not None:
        assert recognized[name].text == cases[name]["text"]


@pytest.mark.parametrize("name", ALL_CASES)
def test_word_starts(name: str, recognized: dict, ours: dict[str, dict]) -> None:
    """onnx-asr gives token times (frame × 0.04); a token whose piece began with ▁ starts a word."""
    r = recognized[name]
    if not r.tokens:
        assert ours[name]["words"] == []
        return
    starts = [t for tok, t in zip(r.tokens, r.timestamps, strict=True) if tok.startswith(" ")]
    words = r.text.split(" ")
    assert len(words) == len(starts)
    assert_same_words(list(zip(words, starts, strict=True)), [(w["word"], w["start"]) for w in ours[name]["words"]], name)
