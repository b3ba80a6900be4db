"""The official `openai` Python SDK's realtime client (`client.realtime.connect`, intent=transcription) against
our GET /v1/realtime: the completed transcripts, joined, equal POST /v1/transcribe's text on the same WAVs,
sent at the WAV's own rate and (server VAD, then a commit) at OpenAI's default 24 kHz."""

from __future__ import annotations

import asyncio
import base64
import json
import wave

import numpy as np
import pytest
from conftest import Server, post_transcribe
from openai import AsyncOpenAI

CASES = ["short", "varied-lengths", "long-with-pauses"]


def pcm_of(path: str, rate: int | None = None) -> tuple[int, bytes]:
    with wave.open(path) as w:
        own, raw = w.getframerate(), w.readframes(w.getnframes())
    if rate is None or rate == own:
        return own, raw
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    t = np.arange(int(len(x) * rate / own)) * (own / rate)
    return rate, np.interp(t, np.arange(len(x)), x).round().astype("<i2").tobytes()


async def transcripts(server: Server, rate: int, pcm: bytes, turn_detection: dict | None) -> list[str]:
    client = AsyncOpenAI(base_url=f"{server.http}/v1", api_key="unused", max_retries=0)
    out: list[str] = []
    async with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        created = await conn.recv()
        assert created.type == "session.created"
        await conn.session.update(
            session={"type": "transcription", "audio": {"input": {"format": {"type": "audio/pcm", "rate": rate}, "turn_detection": turn_detection}}}
        )
        step = rate // 10 * 2  # 100 ms of PCM16
        for i in range(0, len(pcm), step):
            await conn.input_audio_buffer.append(audio=base64.b64encode(pcm[i : i + step]).decode())
        await conn.input_audio_buffer.commit()
        # every completed item until the server has said nothing for 3 s after the commit
        while True:
            try:
                ev = await asyncio.wait_for(conn.recv(), 3)
            except TimeoutError:
                break
            assert ev.type != "error", ev
            if ev.type == "conversation.item.input_audio_transcription.completed":
                out.append(ev.transcript)
    return [t for t in out if t]


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("mode", ["own-rate-manual", "24k-server-vad"])
def test_completed_equal_native(name: str, mode: str, server: Server, cases: dict) -> None:
    native = json.loads(post_transcribe(server, cases[name]["wav"]))["text"]

    async def go() -> list[str]:
        if mode == "own-rate-manual":
            rate, pcm = pcm_of(cases[name]["wav"])
            return await transcripts(server, rate, pcm, None)
        rate, pcm = pcm_of(cases[name]["wav"], 24000)
        return await transcripts(server, rate, pcm, {"type": "server_vad", "silence_duration_ms": 500})

    got = asyncio.run(asyncio.wait_for(go(), 60))
    assert " ".join(got) == native
