"""The official `openai` Python SDK against our POST /v1/audio/transcriptions, and the `websockets` library
against /v1/ws, both compared with our native POST /v1/transcribe on the same WAVs (one served process)."""

from __future__ import annotations

import math
import json

import pytest
from conftest import ALL_CASES, FRAME, Server, assert_same_words, post_transcribe
from openai import OpenAI
from websockets.sync.client import connect

import reference as ref

MODEL = "gigaam-v3-e2e-rnnt"


@pytest.fixture(scope="module")
def client(server: Server) -> OpenAI:
    return OpenAI(base_url=f"{server.http}/v1", api_key="x", max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def native(server: Server, cases: dict[str, dict]) -> dict[str, dict]:
    return {name: json.loads(post_transcribe(server, cases[name]["wav"])) for name in ALL_CASES}


def transcribe(client: OpenAI, wav: str, **kw):
    with open(wav, "rb") as f:
        return client.audio.transcriptions.create(model=MODEL, file=f, **kw)


@pytest.mark.parametrize("name", ALL_CASES)
def test_json_text_equals_native_and_cli(name: str, client: OpenAI, native: dict, ours: dict, cases: dict) -> None:
    r = transcribe(client, cases[name]["wav"])
    assert r.text == native[name]["text"] == ours[name]["text"]


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
@pytest.mark.parametrize("name", ["short", "long-with-pauses", "resampled-48k"])
def test_plain_formats_equal_native(name: str, fmt: str, client: OpenAI, server: Server, native: dict, cases: dict) -> None:
    r = transcribe(client, cases[name]["wav"], response_format=fmt)
    assert isinstance(r, str)
    assert r == post_transcribe(server, cases[name]["wav"], fmt).decode("utf-8")
    if fmt == "text":
        assert r.strip() == native[name]["text"]


@pytest.mark.parametrize("name", ["short", "varied-lengths", "long-with-pauses", "speech-ru"])
def test_verbose_json_words_and_segments(name: str, client: OpenAI, native: dict, cases: dict) -> None:
    r = transcribe(client, cases[name]["wav"], response_format="verbose_json", timestamp_granularities=["word", "segment"])
    mine = native[name]
    assert r.text == mine["text"]
    assert r.language == "russian"
    assert abs(r.duration - mine["duration"]) <= 1e-3
    assert [(w.word, w.start, w.end) for w in r.words] == [(w["word"], w["start"], w["end"]) for w in mine["words"]]
    assert " ".join(s.text for s in r.segments) == mine["text"]
    assert [(s.start, s.end) for s in r.segments] == [(s["start"], s["end"]) for s in mine["segments"]]


@pytest.mark.parametrize("name", ["short", "long-with-pauses", "silence"])
def test_stream_deltas_add_up_to_the_text(name: str, client: OpenAI, native: dict, cases: dict) -> None:
    events = list(transcribe(client, cases[name]["wav"], stream=True))
    assert events[-1].type == "transcript.text.done"
    deltas = [e.delta for e in events[:-1]]
    assert all(e.type == "transcript.text.delta" for e in events[:-1])
    assert "".join(deltas) == events[-1].text == native[name]["text"]
    if name == "long-with-pauses":
        # one delta per segment of the one offline pipeline (≤ 20 s each, cut at a pause): at least
        # duration / 20 of them, and never more than the result's sentence segments
        assert math.ceil(native[name]["duration"] / 20) <= len(deltas) <= len(native[name]["segments"])
        assert len(deltas) > 1


def test_unknown_response_format_is_an_sdk_error(client: OpenAI, cases: dict) -> None:
    import openai

    with pytest.raises(openai.BadRequestError) as e:
        transcribe(client, cases["short"]["wav"], response_format="xml")
    assert e.value.status_code == 400
    assert e.value.body["param"] == "response_format"


def _wav_pcm(path: str) -> tuple[bytes, int]:
    samples, rate = ref.read_pcm16_wav(path)
    return (samples * 32768).astype("<i2").tobytes(), rate


@pytest.mark.parametrize("name", ["short", "long-with-pauses", "resampled-48k", "speech-ru"])
def test_websocket_finals_equal_native(name: str, server: Server, native: dict, cases: dict) -> None:
    """ready → configure(rate) → binary PCM16 frames → stop → finals (then the server closes 1000)."""
    pcm, rate = _wav_pcm(cases[name]["wav"])
    finals: list[dict] = []
    with connect(f"ws://127.0.0.1:{server.port}/v1/ws", open_timeout=10, close_timeout=10) as ws:
        ready = json.loads(ws.recv(timeout=10))
        assert ready["type"] == "ready" and ready["model"] == MODEL and rate in ready["supported_rates"]
        ws.send(json.dumps({"type": "configure", "sample_rate": rate}))
        step = rate * 2  # 1 s frames
        for i in range(0, len(pcm), step):
            ws.send(pcm[i : i + step])
        ws.send(json.dumps({"type": "stop"}))
        for raw in ws:  # ends when the server closes after the last final
            msg = json.loads(raw)
            assert msg["type"] in ("partial", "final"), msg
            if msg["type"] == "final":
                finals.append(msg)
    assert ws.close_code == 1000
    text = " ".join(f["text"] for f in finals if f["text"])
    assert text == native[name]["text"]
    words = [w for f in finals for w in f["words"]]
    assert_same_words([(w["word"], w["start"]) for w in native[name]["words"]], [(w["word"], w["start"]) for w in words], name)
    assert all(abs(a["end"] - b["end"]) <= FRAME for a, b in zip(native[name]["words"], words, strict=True))


def test_models_list_with_the_sdk(client: OpenAI) -> None:
    """client.models.list() reads `data`; the Rust clients' fields stay beside it (checked in test/server/platform.test.ts)."""
    models = client.models.list()
    assert [(m.id, m.object, m.owned_by) for m in models.data] == [(MODEL, "model", "gigastt")]
