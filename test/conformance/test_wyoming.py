"""The `wyoming` Python library (Home Assistant's protocol client) against `gigastt serve --wyoming-port`."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import Server, post_transcribe
from wyoming.asr import Transcribe, Transcript, TranscriptChunk
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info

import reference as ref

MODEL = "gigaam-v3-e2e-rnnt"


async def _describe(port: int) -> Info:
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Describe().event())
        event = await asyncio.wait_for(client.read_event(), 10)
        assert event is not None and Info.is_type(event.type)
        return Info.from_event(event)


async def _transcribe_all(port: int, wavs: list[str]) -> list[tuple[list[str], str, list[str]]]:
    """Several transcriptions on one connection: (event types, transcript text, chunk texts) for each."""
    out = []
    async with AsyncTcpClient("127.0.0.1", port) as client:
        for wav in wavs:
            samples, rate = ref.read_pcm16_wav(wav)
            pcm = (samples * 32768).astype("<i2").tobytes()
            await client.write_event(Transcribe(name=MODEL, language="ru").event())
            await client.write_event(AudioStart(rate=rate, width=2, channels=1).event())
            for i in range(0, len(pcm), 4096):
                await client.write_event(AudioChunk(rate=rate, width=2, channels=1, audio=pcm[i : i + 4096]).event())
            await client.write_event(AudioStop().event())
            types: list[str] = []
            chunks: list[str] = []
            text = None
            while True:
                event = await asyncio.wait_for(client.read_event(), 30)
                assert event is not None, "the server closed the connection"
                types.append(event.type)
                if TranscriptChunk.is_type(event.type):
                    chunks.append(TranscriptChunk.from_event(event).text)
                elif Transcript.is_type(event.type):
                    text = Transcript.from_event(event).text
                elif event.type == "transcript-stop":
                    break
            assert text is not None
            out.append((types, text, chunks))
    return out


def test_describe_info(server: Server) -> None:
    info = asyncio.run(_describe(server.wyoming_port))
    assert len(info.asr) == 1
    program = info.asr[0]
    assert program.installed
    assert [m.name for m in program.models] == [MODEL]
    assert program.models[0].languages == ["ru"]
    assert program.supports_transcript_streaming is True


def test_transcripts_equal_native(server: Server, cases: dict) -> None:
    names = ["short", "long-with-pauses", "resampled-48k", "silence", "speech-ru"]
    results = asyncio.run(_transcribe_all(server.wyoming_port, [cases[n]["wav"] for n in names]))
    for name, (types, text, chunks) in zip(names, results, strict=True):
        native = json.loads(post_transcribe(server, cases[name]["wav"]))["text"]
        assert text == native, name
        assert types[0] == "transcript-start" and types[-2:] == ["transcript", "transcript-stop"], (name, types)
        assert "".join(chunks) == text, name  # streamed chunks add up to the transcript
    assert len(results[1][2]) == 6  # one chunk per utterance of the paused phrases
