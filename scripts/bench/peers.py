"""Peer runtimes on the same model folder and clip (run by scripts/bench.ts from .bench/venv).

usage: python peers.py PEER MODEL_DIR WAV THREADS REPS [QUANTIZATION]
PEER: onnx-asr | gigastt
Prints one JSON line: {"peer", "load_s", "times_s": [...], "text", "version"} or {"peer", "error"}.
"""
import json
import sys
import time
import traceback


def run_onnx_asr(model_dir, wav, threads, reps, quantization=None):
    import onnx_asr
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    t0 = time.perf_counter()
    model = onnx_asr.load_model("gigaam-v3-e2e-rnnt", model_dir, quantization=quantization, sess_options=opts, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - t0
    text = model.recognize(wav)  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        text = model.recognize(wav)
        times.append(time.perf_counter() - t)
    from importlib.metadata import version

    return {"load_s": load, "times_s": times, "text": text, "version": f"onnx-asr {version('onnx-asr')}, onnxruntime {ort.__version__}"}


def run_gigastt(model_dir, wav, threads, reps, quantization=None):
    import gigastt_uniffi as g
    from importlib.metadata import version

    if threads != 1:
        raise RuntimeError("gigastt's CPU engine uses 1 intra-op thread per session (not configurable)")
    t0 = time.perf_counter()
    engine = g.Engine.new_with_pool_size(model_dir, 1)
    load = time.perf_counter() - t0
    tr = engine.transcribe_file(wav)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        tr = engine.transcribe_file(wav)
        times.append(time.perf_counter() - t)
    return {"load_s": load, "times_s": times, "text": tr.text, "version": f"gigastt (PyPI) {version('gigastt')}"}


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
