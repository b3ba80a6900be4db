/**
 * Load-time checks of the three graphs' inputs/outputs against the GigaAM v3
 * e2e_rnnt contract (names, element types, ranks, static dims). Pure: works on
 * the metadata a session reports, so it is tested without ONNX files.
 *
 * Symbolic dims are accepted anywhere (the exporter's dynamic-axis labels are
 * not trustworthy); a static dim must have the expected value.
 */
import { GigasttError } from "../errors.ts";
import type { ValueInfo } from "../runtime/ort.ts";

export const ENC_DIM = 768;
export const DEC_DIM = 320;
export const N_MELS_IN = 64;

export interface GraphIo {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
}

/** Expected tensor: dims entries are a number (must match when static) or null (any). */
interface Expect {
  readonly type: string;
  readonly dims: readonly (number | null)[];
}

/** Resolved names of the decoder's state tensors. */
export interface DecoderNames {
  readonly x: string;
  readonly hIn: string;
  readonly cIn: string;
  readonly dec: string;
  readonly hOut: string;
  readonly cOut: string;
}

function invalid(file: string, what: string): GigasttError {
  return new GigasttError("model_invalid", `invalid model file ${file}: ${what}`, { details: { file } });
}

function fmtDims(dims: readonly (number | string)[] | null): string {
  return dims ? `[${dims.join(",")}]` : "non-tensor";
}

function checkValue(file: string, role: string, v: ValueInfo | undefined, name: string, exp: Expect): void {
  if (!v) throw invalid(file, `${role} '${name}' not found`);
  if (v.type === null || v.dims === null) throw invalid(file, `${role} '${name}' is not a tensor`);
  if (v.type !== exp.type) throw invalid(file, `${role} '${name}' has type ${v.type}, expected ${exp.type}`);
  if (v.dims.length !== exp.dims.length)
    throw invalid(file, `${role} '${name}' has rank ${v.dims.length} ${fmtDims(v.dims)}, expected rank ${exp.dims.length}`);
  exp.dims.forEach((want, i) => {
    const got = v.dims![i];
    if (want !== null && typeof got === "number" && got !== want)
      throw invalid(file, `${role} '${name}' has dim ${i} = ${got} ${fmtDims(v.dims)}, expected ${want}`);
  });
}

function byName(list: readonly ValueInfo[], name: string): ValueInfo | undefined {
  return list.find((v) => v.name === name);
}

/** encoder: audio_signal f32 [B,64,T], length i64 [B] → encoded f32 [B,768,T'], encoded_len i32 [B]. */
export function validateEncoder(file: string, io: GraphIo): void {
  checkValue(file, "input", byName(io.inputs, "audio_signal"), "audio_signal", { type: "float32", dims: [null, N_MELS_IN, null] });
  checkValue(file, "input", byName(io.inputs, "length"), "length", { type: "int64", dims: [null] });
  checkValue(file, "output", byName(io.outputs, "encoded"), "encoded", { type: "float32", dims: [null, ENC_DIM, null] });
  checkValue(file, "output", byName(io.outputs, "encoded_len"), "encoded_len", { type: "int32", dims: [null] });
  if (io.inputs.length !== 2) throw invalid(file, `expected 2 inputs, found ${io.inputs.length}`);
}

/** Decoder state names differ between the HF export (h.1, c.1 → h, c) and today's exporter (hi, ci → ho, co). */
const STATE_NAMES = [
  { hIn: "h.1", cIn: "c.1", hOut: "h", cOut: "c" },
  { hIn: "hi", cIn: "ci", hOut: "ho", cOut: "co" },
] as const;

/** decoder: x i64 [B,1], h/c f32 [1,B,320] → dec f32 [B,1,320], h/c f32 [1,B,320]. Returns the names to bind. */
export function validateDecoder(file: string, io: GraphIo): DecoderNames {
  const inNames = io.inputs.map((v) => v.name);
  const outNames = io.outputs.map((v) => v.name);
  const known = STATE_NAMES.find((s) => inNames.includes(s.hIn) && inNames.includes(s.cIn) && outNames.includes(s.hOut) && outNames.includes(s.cOut));
  if (io.inputs.length !== 3) throw invalid(file, `expected 3 inputs (x, h, c), found ${io.inputs.length} (${inNames.join(", ")})`);
  if (io.outputs.length !== 3) throw invalid(file, `expected 3 outputs (dec, h, c), found ${io.outputs.length} (${outNames.join(", ")})`);
  // unknown state names: bind by position (x, h, c → dec, h, c), as the Rust server does
  const names: DecoderNames = known
    ? { x: "x", dec: "dec", ...known }
    : { x: inNames[0]!, hIn: inNames[1]!, cIn: inNames[2]!, dec: outNames[0]!, hOut: outNames[1]!, cOut: outNames[2]! };
  const state: Expect = { type: "float32", dims: [1, null, DEC_DIM] };
  checkValue(file, "input", byName(io.inputs, names.x), names.x, { type: "int64", dims: [null, 1] });
  checkValue(file, "input", byName(io.inputs, names.hIn), names.hIn, state);
  checkValue(file, "input", byName(io.inputs, names.cIn), names.cIn, state);
  checkValue(file, "output", byName(io.outputs, names.dec), names.dec, { type: "float32", dims: [null, 1, DEC_DIM] });
  checkValue(file, "output", byName(io.outputs, names.hOut), names.hOut, state);
  checkValue(file, "output", byName(io.outputs, names.cOut), names.cOut, state);
  return names;
}

/** joint: enc f32 [B,768,1], dec f32 [B,320,1] → joint f32 [B,1,1,V], V = vocabulary size incl. blank. */
export function validateJoint(file: string, io: GraphIo, vocabSize: number): void {
  checkValue(file, "input", byName(io.inputs, "enc"), "enc", { type: "float32", dims: [null, ENC_DIM, 1] });
  checkValue(file, "input", byName(io.inputs, "dec"), "dec", { type: "float32", dims: [null, DEC_DIM, 1] });
  const out = byName(io.outputs, "joint");
  checkValue(file, "output", out, "joint", { type: "float32", dims: [null, 1, 1, null] });
  const last = out!.dims![3];
  if (typeof last === "number" && last !== vocabSize)
    throw invalid(file, `output 'joint' has ${last} classes but the vocabulary has ${vocabSize} entries`);
  if (io.inputs.length !== 2) throw invalid(file, `expected 2 inputs, found ${io.inputs.length}`);
}
