"""Our transcripts vs the independent Python pipeline: numpy log-mel + onnxruntime graphs + greedy loop (cap 3)."""

from __future__ import annotations

import pytest
from conftest import ALL_CASES, FRAME, assert_same_words

import reference as ref

#: the reference has no resampler: it reads the 16 kHz WAVs only
CASES = [c for c in ALL_CASES if c != "resampled-48k"]


@pytest.fixture(scope="module")
def model(fixtures: dict) -> ref.ReferenceModel:
    return ref.ReferenceModel(fixtures["model"])


@pytest.fixture(scope="module")
def reference(model: ref.ReferenceModel, cases: dict[str, dict]) -> dict[str, ref.Result]:
    out = {}
    for name in CASES:
        samples, rate = ref.read_pcm16_wav(cases[name]["wav"])
        assert rate == 16000
        out[name] = model.transcribe(samples)
    return out


@pytest.mark.parametrize("name", CASES)
def test_text_is_identical(name: str, reference: dict[str, ref.Result], ours: dict[str, dict], cases: dict[str, dict]) -> None:
    assert ours[name]["text"] == reference[name].text
    if cases[name]["text"] is not None:  # a tone phrase: both say what was synthesized
        assert reference[name].text == cases[name]["text"]


@pytest.mark.parametrize("name", CASES)
def test_word_times_and_confidences(name: str, reference: dict[str, ref.Result], ours: dict[str, dict]) -> None:
    ref_words = reference[name].words
    got = ours[name]["words"]
    assert_same_words([(w.word, w.start) for w in ref_words], [(w["word"], w["start"]) for w in got], name)
    for r, g in zip(ref_words, got, strict=True):
        # segment offsets (long audio) need not be multiples of 40 ms: a boundary word may read ~1 % lower
        assert abs(g["end"] - r.end) <= FRAME, f"{name}: '{r.word}' ends at {g['end']} vs {r.end}"
        assert abs(g["confidence"] - r.confidence) <= 0.02, f"{name}: '{r.word}' confidence {g['confidence']} vs {r.confidence}"


def test_speech_hits_the_three_token_cap(reference: dict[str, ref.Result], ours: dict[str, dict]) -> None:
    """On real speech the tone model emits 3 tokens in one encoder frame several times: the per-frame cap is 3 in both."""
    per_frame: dict[int, int] = {}
    for tok in reference["speech-ru"].tokens:
        per_frame[tok.frame] = per_frame.get(tok.frame, 0) + 1
    capped = [f for f, n in per_frame.items() if n == ref.MAX_TOKENS_PER_FRAME]
    assert len(capped) >= 3
    assert max(per_frame.values()) == ref.MAX_TOKENS_PER_FRAME
    starts = [w["start"] for w in ours["speech-ru"]["words"]]
    for f in capped:  # every piece of the tone vocabulary starts a word, so 3 words share that start
        assert sum(abs(s - f * ref.SECONDS_PER_FRAME) < 1e-6 for s in starts) == ref.MAX_TOKENS_PER_FRAME


def test_tone_onsets(reference: dict[str, ref.Result], cases: dict[str, dict]) -> None:
    """Sanity of the reference itself: each word starts within 0.1 s of its tone (test-models.md §1)."""
    for name in CASES:
        case = cases[name]
        if case["text"] is None:
            continue
        word_onsets = [t for p, t in zip(case["pieces"], case["onsets"], strict=True) if p.startswith("\u2581")]
        starts = [w.start for w in reference[name].words]
        assert len(starts) == len(word_onsets), name
        assert all(abs(a - b) <= 0.1 for a, b in zip(starts, word_onsets, strict=True)), name
