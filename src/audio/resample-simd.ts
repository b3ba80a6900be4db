/**
 * The resampler's polyphase inner loop as a tiny WebAssembly SIMD kernel,
 * assembled here from its opcodes (no toolchain, nothing fetched: the bytes
 * are built at first use, so it works inside `bun build --compile`).
 *
 *   run(window, table, out, count, base, p, stride, stepN, stepP, L)
 *     for each of `count` outputs: the dot product of `stride` inputs from
 *     window[base…] with table row p (f32x4, two accumulators, lanes summed
 *     as (l0 + l1) + (l2 + l3)); then base += stepN, p += stepP, carrying
 *     p ≥ L into base — the same walk as the JavaScript loop in resample.ts.
 *
 * Rows are padded with zero weights to a multiple of 8 (`paddedTaps`); the
 * window's tail past the last real input is zero-filled, so padding never
 * multiplies anything but finite samples. One instance per thread (module
 * state); filter tables stay resident in its memory (keyed by the shared
 * table object, re-copied only after the arena is recycled).
 */

/** outputs per kernel call: bounds the input window copied in */
const BLOCK = 2048;
/** bytes of the window + output scratch at the start of memory */
const SCRATCH_BYTES = 1 << 20;
const OUT_BYTES = BLOCK * 4;
const WINDOW_FLOATS = (SCRATCH_BYTES - OUT_BYTES) / 4;
/** tables resident at once before the arena starts over */
const ARENA_MAX_BYTES = 16 << 20;
const PAGE = 65536;

/** row length of a SIMD table: `taps` rounded up to a multiple of 8 (at least 8) */
export function paddedTaps(taps: number): number {
  return Math.max(8, Math.ceil(taps / 8) * 8);
}

// ---- the module's bytes ----------------------------------------------------------------
const I32 = 0x7f;
const V128 = 0x7b;
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const tee = (i: number) => [0x22, i];
const i32 = (v: number) => [0x41, v]; // 0 ≤ v < 64: one signed LEB128 byte
const ADD = 0x6a;
const SUB = 0x6b;
const MUL = 0x6c;
const SHL = 0x74;
const GE_S = 0x4e;
const LT_U = 0x49;
const F32_ADD = 0x92;
const END = 0x0b;
const vload = (offset: number) => [0xfd, 0x00, 0x00, offset];
const F32X4_ADD = [0xfd, 0xe4, 0x01];
const F32X4_MUL = [0xfd, 0xe6, 0x01];
const lane = (l: number) => [0xfd, 0x1f, l];
const V128_ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];

// params: window 0, table 1, out 2, count 3, base 4, p 5, stride 6, stepN 7, stepP 8, L 9
// locals: i 10, bp 11, tp 12, end 13, acc0 14, acc1 15
const [W, T, O, COUNT, BASE, P, STRIDE, STEPN, STEPP, LL] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const [I, BP, TP, E, A0, A1] = [10, 11, 12, 13, 14, 15];
const times4 = (i: number) => [...get(i), ...i32(2), SHL];

function body(): number[] {
  return [
    2, 4, I32, 2, V128, // local groups: 4 × i32, 2 × v128
    0x02, 0x40, // block $done
    0x03, 0x40, // loop $outer
    ...get(I), ...get(COUNT), GE_S, 0x0d, 1, // br_if $done
    ...get(W), ...times4(BASE), ADD, ...set(BP),
    ...get(T), ...get(P), ...get(STRIDE), MUL, ...i32(2), SHL, ADD, ...tee(TP),
    ...times4(STRIDE), ADD, ...set(E),
    ...V128_ZERO, ...set(A0), ...V128_ZERO, ...set(A1),
    0x03, 0x40, // loop $inner
    ...get(A0), ...get(BP), ...vload(0), ...get(TP), ...vload(0), ...F32X4_MUL, ...F32X4_ADD, ...set(A0),
    ...get(A1), ...get(BP), ...vload(16), ...get(TP), ...vload(16), ...F32X4_MUL, ...F32X4_ADD, ...set(A1),
    ...get(BP), ...i32(32), ADD, ...set(BP),
    ...get(TP), ...i32(32), ADD, ...tee(TP), ...get(E), LT_U, 0x0d, 0, // br_if $inner
    END,
    ...get(A0), ...get(A1), ...F32X4_ADD, ...set(A0),
    ...get(O), ...times4(I), ADD,
    ...get(A0), ...lane(0), ...get(A0), ...lane(1), F32_ADD,
    ...get(A0), ...lane(2), ...get(A0), ...lane(3), F32_ADD, F32_ADD,
    0x38, 2, 0, // f32.store
    ...get(BASE), ...get(STEPN), ADD, ...set(BASE),
    ...get(P), ...get(STEPP), ADD, ...tee(P), ...get(LL), GE_S,
    0x04, 0x40, // if
    ...get(P), ...get(LL), SUB, ...set(P),
    ...get(BASE), ...i32(1), ADD, ...set(BASE),
    END,
    ...get(I), ...i32(1), ADD, ...set(I),
    0x0c, 0, // br $outer
    END,
    END,
    END,
  ];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

const name = (s: string) => [s.length, ...[...s].map((c) => c.charCodeAt(0))];

/** the module: one function `run`, one exported memory `mem` */
export function kernelBytes(): Uint8Array {
  const code = body();
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 10, ...new Array<number>(10).fill(I32), 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0, SCRATCH_BYTES / PAGE]),
    ...section(7, [2, ...name("run"), 0, 0, ...name("mem"), 2, 0]),
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);
}

// ---- the instance ------------------------------------------------------------------------
type Run = (w: number, t: number, o: number, count: number, base: number, p: number, stride: number, stepN: number, stepP: number, L: number) => void;

interface Kernel {
  readonly run: Run;
  readonly mem: WebAssembly.Memory;
  readonly resident: Map<Float32Array, number>;
  arenaEnd: number;
  /** views of the scratch, remade when the memory grows */
  window: Float32Array;
  out: Float32Array;
}

let kernel: Kernel | null | undefined;

/** this thread's kernel, or null where WebAssembly SIMD is unavailable (the JavaScript loop is used) */
export function simdKernel(): Kernel | null {
  if (kernel !== undefined) return kernel;
  try {
    const bytes = kernelBytes();
    if (typeof WebAssembly === "undefined" || !WebAssembly.validate(bytes)) return (kernel = null);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    const ex = inst.exports as { run: Run; mem: WebAssembly.Memory };
    kernel = { run: ex.run, mem: ex.mem, resident: new Map(), arenaEnd: SCRATCH_BYTES, window: new Float32Array(0), out: new Float32Array(0) };
    views(kernel);
  } catch {
    kernel = null;
  }
  return kernel;
}

function views(k: Kernel): void {
  k.window = new Float32Array(k.mem.buffer, 0, WINDOW_FLOATS);
  k.out = new Float32Array(k.mem.buffer, WINDOW_FLOATS * 4, BLOCK);
}

/** byte offset of `table` in the kernel's memory, copied in once */
function residentTable(k: Kernel, table: Float32Array): number {
  const at = k.resident.get(table);
  if (at !== undefined) return at;
  if (k.arenaEnd + table.byteLength > ARENA_MAX_BYTES && k.resident.size > 0) {
    k.resident.clear();
    k.arenaEnd = SCRATCH_BYTES;
  }
  const ptr = k.arenaEnd;
  const need = ptr + table.byteLength;
  if (need > k.mem.buffer.byteLength) {
    k.mem.grow(Math.ceil((need - k.mem.buffer.byteLength) / PAGE));
    views(k);
  }
  new Float32Array(k.mem.buffer, ptr, table.length).set(table);
  k.resident.set(table, ptr);
  k.arenaEnd = need;
  return ptr;
}

export interface PolyphaseWalk {
  /** index in `buf` of the first output's first tap */
  base: number;
  p: number;
  readonly stepN: number;
  readonly stepP: number;
  readonly L: number;
  /** row length of `table` (a multiple of 8) */
  readonly stride: number;
}

/**
 * `count` outputs into `out` from `buf[0..bufLen)` with the padded `table`;
 * advances `walk` (base, p) past them.
 */
export function runKernel(k: Kernel, buf: Float32Array, bufLen: number, table: Float32Array, walk: PolyphaseWalk, out: Float32Array, count: number): void {
  const tablePtr = residentTable(k, table);
  const { stepN, stepP, L, stride } = walk;
  let done = 0;
  while (done < count) {
    let n = Math.min(BLOCK, count - done);
    // inputs this block reads: from its first output's base to its last output's base + stride
    let span = 0;
    for (;;) {
      const lastP = walk.p + (n - 1) * stepP;
      span = (n - 1) * stepN + Math.floor(lastP / L) + stride;
      if (span <= WINDOW_FLOATS || n === 1) break;
      n >>= 1;
    }
    const real = Math.max(0, Math.min(span, bufLen - walk.base));
    k.window.set(buf.subarray(walk.base, walk.base + real));
    k.window.fill(0, real, span);
    k.run(0, tablePtr, WINDOW_FLOATS * 4, n, 0, walk.p, stride, stepN, stepP, L);
    out.set(k.out.subarray(0, n), done);
    const total = walk.p + n * stepP;
    walk.base += n * stepN + Math.floor(total / L);
    walk.p = total % L;
    done += n;
  }
}
