/**
 * Minimal ELF64 reader for the release checks: machine, type, interpreter,
 * and the dynamic section's DT_NEEDED / DT_RUNPATH (to embed exactly the
 * libraries onnxruntime's addon links against). Pure functions over bytes.
 */

export const EM_X86_64 = 0x3e;
export const EM_AARCH64 = 0xb7;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

export interface ElfInfo {
  readonly arch: "x64" | "arm64" | "other";
  readonly machine: number;
  /** ET_EXEC = 2, ET_DYN = 3 */
  readonly type: number;
  readonly interpreter: string | null;
  readonly needed: readonly string[];
  readonly runpath: readonly string[];
  readonly soname: string | null;
}

export class ElfError extends Error {
  override readonly name = "ElfError";
}

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

function cstr(b: Uint8Array, start: number): string {
  let e = start;
  while (e < b.length && b[e] !== 0) e++;
  return new TextDecoder().decode(b.subarray(start, e));
}

/** Parses a 64-bit little-endian ELF file's header and dynamic section. */
export function parseElf(bytes: Uint8Array): ElfInfo {
  if (!isElf(bytes)) throw new ElfError("not an ELF file");
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new ElfError("only 64-bit little-endian ELF is supported");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phoff + phnum * phentsize > bytes.length) throw new ElfError("program headers run past the end of the file");
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let interpreter: string | null = null;
  let dyn: { offset: number; size: number } | null = null;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const ptype = dv.getUint32(p, true);
    const offset = Number(dv.getBigUint64(p + 8, true));
    const vaddr = Number(dv.getBigUint64(p + 16, true));
    const filesz = Number(dv.getBigUint64(p + 32, true));
    if (ptype === PT_LOAD) loads.push({ vaddr, offset, filesz });
    else if (ptype === PT_INTERP) interpreter = cstr(bytes, offset);
    else if (ptype === PT_DYNAMIC) dyn = { offset, size: filesz };
  }
  const needed: string[] = [];
  const runpath: string[] = [];
  let soname: string | null = null;
  if (dyn) {
    const entries: [number, number][] = [];
    let strtabAddr = -1;
    for (let o = dyn.offset; o + 16 <= dyn.offset + dyn.size; o += 16) {
      const tag = Number(dv.getBigInt64(o, true));
      const val = Number(dv.getBigUint64(o + 8, true));
      if (tag === DT_NULL) break;
      if (tag === DT_STRTAB) strtabAddr = val;
      entries.push([tag, val]);
    }
    if (strtabAddr >= 0) {
      const seg = loads.find((l) => strtabAddr >= l.vaddr && strtabAddr < l.vaddr + l.filesz);
      if (!seg) throw new ElfError("DT_STRTAB is not inside a loaded segment");
      const strtab = strtabAddr - seg.vaddr + seg.offset;
      for (const [tag, val] of entries) {
        if (tag === DT_NEEDED) needed.push(cstr(bytes, strtab + val));
        else if (tag === DT_RUNPATH || tag === DT_RPATH) runpath.push(...cstr(bytes, strtab + val).split(":"));
        else if (tag === DT_SONAME) soname = cstr(bytes, strtab + val);
      }
    }
  }
  const arch = machine === EM_X86_64 ? "x64" : machine === EM_AARCH64 ? "arm64" : "other";
  return { arch, machine, type, interpreter, needed, runpath, soname };
}
