#!/usr/bin/env python3
"""One-off generator for the log-mel golden fixture in test/fixtures/frontend/.

1. Synthesises a short Russian phrase with espeak-ng and converts it with sox to 16 kHz mono
   PCM16 (speech-ru.wav), unless that file already exists (the committed WAV is the input of
   record; pass --resynthesize to rebuild it).
2. Computes the GigaAM v3 reference features with torchaudio, exactly as onnx-asr's GigaAM v3
   test does: MelSpectrogram(16000, n_fft=320, win_length=320, hop_length=160, n_mels=64,
   center=False) with its Hann window and mel filterbank cast through bfloat16, then
   log(clamp(E, 1e-9, 1e9)). Input samples are int16 / 32768.
3. Writes speech-ru.logmel.f32 (little-endian float32, mel-major [64 x frames]) and
   speech-ru.json (shape, sample count, and torch's bf16 window as float32 bit patterns).

Needs (Debian): apt-get install -y python3-torchaudio espeak-ng sox
Run from the repository root: /usr/bin/python3 scripts/gen_logmel_golden.py
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import wave

import torch
import torchaudio

FIXTURES = os.path.join("test", "fixtures", "frontend")
WAV = os.path.join(FIXTURES, "speech-ru.wav")
FEATURES = os.path.join(FIXTURES, "speech-ru.logmel.f32")
META = os.path.join(FIXTURES, "speech-ru.json")
PHRASE = "Привет, как дела? Сегодня хорошая погода."


def synthesize() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "espeak.wav")
        subprocess.run(["espeak-ng", "-v", "ru", "-w", raw, PHRASE], check=True)
        subprocess.run(["sox", raw, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", WAV], check=True)


def read_pcm16(path: str) -> torch.Tensor:
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == 16000, path
        data = w.readframes(w.getnframes())
    ints = torch.tensor(struct.unpack("<%dh" % (len(data) // 2), data), dtype=torch.int16)
    return ints.to(torch.float32) / 32768.0


def main() -> None:
    if "--resynthesize" in sys.argv or not os.path.exists(WAV):
        synthesize()
    samples = read_pcm16(WAV)
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=16000, n_fft=320, win_length=320, hop_length=160, n_mels=64, center=False
    )
    mel.spectrogram.window = mel.spectrogram.window.bfloat16().float()
    mel.mel_scale.fb = mel.mel_scale.fb.bfloat16().float()
    with torch.no_grad():
        feats = mel(samples).clamp(1e-9, 1e9).log()
    assert feats.dtype == torch.float32 and feats.shape[0] == 64
    frames = int(feats.shape[1])
    assert frames == (len(samples) - 320) // 160 + 1
    with open(FEATURES, "wb") as f:
        f.write(feats.contiguous().numpy().astype("<f4").tobytes())
    window_bits = [struct.unpack("<I", struct.pack("<f", v))[0] for v in mel.spectrogram.window.tolist()]
    meta = {
        "source": "scripts/gen_logmel_golden.py (torch %s, torchaudio %s)" % (torch.__version__, torchaudio.__version__),
        "phrase": PHRASE,
        "samples": len(samples),
        "nMels": 64,
        "frames": frames,
        "windowBf16Bits": window_bits,
    }
    with open(META, "w") as f:
        json.dump(meta, f, ensure_ascii=False)
        f.write("\n")
    print("wrote %s (%d samples), %s (64 x %d)" % (WAV, len(samples), FEATURES, frames))


if __name__ == "__main__":
    main()
