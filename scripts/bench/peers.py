"""Peer runtimes on the same model folder and clip (run by scripts/bench.ts from .bench/venv).

usage: python peers.py PEER MODEL_DIR WAV THREADS REPS [QUANTIZATION]
PEER: onnx-asr | gigastt
Prints one JSON line: {"peer", "load_s", "times_s": [...], "text", "version", "cpu_per_wall", "os_threads"}
or {"peer", "error", "trace"}. cpu_per_wall = process CPU time ÷ wall time over the timed runs (≈ 1.0 for one
busy thread) and os_threads = the process's thread count afterwards: how the thread setting is checked, not assumed.

gigastt (Rust engine, module gigastt_uniffi): MODEL_DIR must be a pack with a manifest.toml naming an
INT8 encoder (scripts/bench/peer-compare.ts writes one); Engine.new_with_pool_size(dir, 1) builds one
session triplet with 1 encoder intra-op thread (gigastt-core `load_with_pools` passes 1).
"""
import json
import os
import sys
import time
import traceback


def _os_threads():
    with open(f"/proc/{os.getpid()}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return None


def _timed(fn, reps):
    """Runs fn reps times; returns (last result, seconds per run, CPU seconds ÷ wall seconds over all runs)."""
    times = []
    out = None
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, times, (time.process_time() - c0) / (time.perf_counter() - w0)


def run_onnx_asr(model_dir, wav, threads, reps, quantization=None):
    import onnx_asr
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    t0 = time.perf_counter()
    model = onnx_asr.load_model("gigaam-v3-e2e-rnnt", model_dir, quantization=quantization, sess_options=opts, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - t0
    model.recognize(wav)  # warm-up
    text, times, cpu = _timed(lambda: model.recognize(wav), reps)
    from importlib.metadata import version

    return {"load_s": load, "times_s": times, "text": text, "version": f"onnx-asr {version('onnx-asr')}, onnxruntime {ort.__version__}", "cpu_per_wall": cpu, "os_threads": _os_threads()}


def run_gigastt(model_dir, wav, threads, reps, quantization=None):
    import gigastt_uniffi as g
    from importlib.metadata import version

    if threads != 1:
        raise RuntimeError("gigastt's CPU engine uses 1 intra-op thread per session (not configurable)")
    t0 = time.perf_counter()
    engine = g.Engine.new_with_pool_size(model_dir, 1)
    load = time.perf_counter() - t0
    engine.transcribe_file(wav)  # warm-up
    tr, times, cpu = _timed(lambda: engine.transcribe_file(wav), reps)
    return {"load_s": load, "times_s": times, "text": tr.text, "version": f"gigastt (PyPI) {version('gigastt')}", "cpu_per_wall": cpu, "os_threads": _os_threads()}


def main():
    peer, model_dir, wav, threads, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    quantization = sys.argv[6] if len(sys.argv) > 6 else None
    fn = {"onnx-asr": run_onnx_asr, "gigastt": run_gigastt}[peer]
    try:
        out = {"peer": peer, **fn(model_dir, wav, threads, reps, quantization)}
    except BaseException as e:  # noqa: BLE001 - report any failure as data
        out = {"peer": peer, "error": f"{type(e).__name__}: {e}".strip(), "trace": traceback.format_exc()[-1500:]}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
