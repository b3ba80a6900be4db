"""An independent Python reference of the GigaAM v3 e2e_rnnt pipeline (model.md §3.1, §4.1, §5).

numpy log-mel (periodic Hann and HTK filters computed here in float32 like torchaudio, both rounded
to bfloat16), onnxruntime for the three graphs, the GigaAM ONNX greedy loop with at most 3 tokens
per frame, SentencePiece-style text and word timestamps. Nothing here reads gigastt's TypeScript.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

SAMPLE_RATE = 16000
N_FFT = 320
HOP = 160
N_MELS = 64
N_FREQS = N_FFT // 2 + 1
SECONDS_PER_FRAME = 0.04
MAX_TOKENS_PER_FRAME = 3
PRED_HIDDEN = 320


def read_pcm16_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono PCM16 WAV → float32 samples scaled by 1/32768 (GigaAM's load_audio) and the rate."""
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, path
        rate = w.getframerate()
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / np.float32(32768.0), rate


def bf16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to bfloat16 (nearest, ties to even) and back to float32."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return rounded.astype(np.uint32).view(np.float32)


def hann_window_f32() -> np.ndarray:
    """torch.hann_window(320) (periodic), computed in float32."""
    n = np.arange(N_FFT, dtype=np.float32)
    return (np.float32(0.5) - np.float32(0.5) * np.cos(np.float32(2 * np.pi) * n / np.float32(N_FFT))).astype(np.float32)


def mel_filters_f32() -> np.ndarray:
    """torchaudio.functional.melscale_fbanks(161, 0, 8000, 64, 16000, norm=None, mel_scale='htk'): [161, 64] float32."""
    all_freqs = np.linspace(0, SAMPLE_RATE // 2, N_FREQS, dtype=np.float32)
    m_min = 2595.0 * np.log10(1.0 + 0.0 / 700.0)
    m_max = 2595.0 * np.log10(1.0 + 8000.0 / 700.0)
    m_pts = np.linspace(m_min, m_max, N_MELS + 2, dtype=np.float32)
    f_pts = (np.float32(700.0) * (np.float32(10.0) ** (m_pts / np.float32(2595.0)) - np.float32(1.0))).astype(np.float32)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return np.maximum(np.float32(0.0), np.minimum(down, up)).astype(np.float32)


WINDOW = bf16(hann_window_f32())
MEL_FILTERS = bf16(mel_filters_f32())


def log_mel(samples: np.ndarray) -> np.ndarray:
    """[64, T] log-mel, T = floor((N − 320) / 160) + 1 (no centering, no padding)."""
    if len(samples) < N_FFT:
        return np.zeros((N_MELS, 0), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float32), N_FFT)[::HOP]
    spectrum = np.fft.rfft(frames.astype(np.float64) * WINDOW.astype(np.float64), n=N_FFT)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    energy = power @ MEL_FILTERS
    return np.log(np.clip(energy, 1e-9, 1e9)).astype(np.float32).T.copy()


@dataclass(frozen=True)
class Token:
    id: int
    frame: int
    prob: float


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class Result:
    text: str
    tokens: list[Token]
    words: list[Word]


class ReferenceModel:
    """The three graphs of a model folder with the real GigaAM v3 e2e_rnnt file names."""

    def __init__(self, model_dir: str | Path):
        d = Path(model_dir)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        cpu = ["CPUExecutionProvider"]
        self.encoder = ort.InferenceSession(str(d / "v3_e2e_rnnt_encoder.onnx"), opts, providers=cpu)
        self.decoder = ort.InferenceSession(str(d / "v3_e2e_rnnt_decoder.onnx"), opts, providers=cpu)
        self.joint = ort.InferenceSession(str(d / "v3_e2e_rnnt_joint.onnx"), opts, providers=cpu)
        self.vocab: dict[int, str] = {}
        for line in (d / "v3_e2e_rnnt_vocab.txt").read_text(encoding="utf-8").splitlines():
            if line:
                piece, idx = line.rsplit(" ", 1)
                self.vocab[int(idx)] = piece
        self.blank = next(i for i, p in self.vocab.items() if p == "<blk>")

    def encode(self, feats: np.ndarray) -> np.ndarray:
        """[64, T] log-mel → [T', 768] encoder frames."""
        enc, enc_len = self.encoder.run(
            ["encoded", "encoded_len"],
            {"audio_signal": feats[None, :, :], "length": np.array([feats.shape[1]], dtype=np.int64)},
        )
        assert enc_len.dtype == np.int32
        return enc[0, :, : int(enc_len[0])].T

    def _decoder_step(self, token: int, h: np.ndarray, c: np.ndarray):
        return self.decoder.run(["dec", "h", "c"], {"x": np.array([[token]], dtype=np.int64), "h.1": h, "c.1": c})

    def greedy(self, enc: np.ndarray) -> list[Token]:
        """GigaAM's ONNX greedy RNN-T loop (model.md §4.1), at most 3 tokens per encoder frame."""
        h = np.zeros((1, 1, PRED_HIDDEN), dtype=np.float32)
        c = np.zeros((1, 1, PRED_HIDDEN), dtype=np.float32)
        g, h_next, c_next = self._decoder_step(self.blank, h, c)
        tokens: list[Token] = []
        for t in range(enc.shape[0]):
            frame = np.ascontiguousarray(enc[t][None, :, None])
            for _ in range(MAX_TOKENS_PER_FRAME):
                (logp,) = self.joint.run(["joint"], {"enc": frame, "dec": np.ascontiguousarray(g.transpose(0, 2, 1))})
                logp = logp.reshape(-1)
                k = int(np.argmax(logp))
                if k == self.blank:
                    break
                tokens.append(Token(k, t, float(np.exp(logp[k]))))
                h, c = h_next, c_next
                g, h_next, c_next = self._decoder_step(k, h, c)
        return tokens

    def words(self, tokens: list[Token]) -> list[Word]:
        """A piece starting with ▁ starts a word; start = first frame × 0.04, end = (last frame + 1) × 0.04."""
        groups: list[list[Token]] = []
        for tok in tokens:
            piece = self.vocab[tok.id]
            if piece.startswith("\u2581") or not groups:
                groups.append([tok])
            else:
                groups[-1].append(tok)
        out = []
        for grp in groups:
            text = "".join(self.vocab[t.id] for t in grp).replace("\u2581", "")
            out.append(
                Word(
                    text,
                    round(grp[0].frame * SECONDS_PER_FRAME, 6),
                    round((grp[-1].frame + 1) * SECONDS_PER_FRAME, 6),
                    float(np.mean([t.prob for t in grp])),
                )
            )
        return out

    def text(self, tokens: list[Token]) -> str:
        """SentencePiece decoding: ▁ → space, leading/trailing space removed."""
        return "".join(self.vocab[t.id] for t in tokens).replace("\u2581", " ").strip()

    def transcribe(self, samples: np.ndarray) -> Result:
        tokens = self.greedy(self.encode(log_mel(samples)))
        return Result(self.text(tokens), tokens, self.words(tokens))
