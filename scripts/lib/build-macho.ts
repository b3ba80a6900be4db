/**
 * Mach-O inspection for the darwin builds, which cannot be run here.
 *
 * macOS kills an arm64 executable whose ad-hoc code signature does not match
 * its bytes (Bun has shipped cross-compiled files like that), so the release
 * checks the signature's structure and recomputes every page hash:
 * LC_CODE_SIGNATURE → SuperBlob → CodeDirectory → SHA-256 of each page up to
 * codeLimit. Also lists dylib dependencies and rpaths (to check that an
 * embedded onnxruntime addon finds its library) and the CPU type.
 *
 * Pure functions over bytes; no I/O.
 */
import { createHash } from "node:crypto";

export const MH_MAGIC_64 = 0xfeedfacf;
export const CPU_TYPE_X86_64 = 0x01000007;
export const CPU_TYPE_ARM64 = 0x0100000c;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const LC_LOAD_DYLIB = 0x0c;
const LC_ID_DYLIB = 0x0d;
const LC_LOAD_WEAK_DYLIB = 0x80000018;
const LC_REEXPORT_DYLIB = 0x8000001f;
const LC_RPATH = 0x8000001c;

const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSSLOT_CODEDIRECTORY = 0;
const CSSLOT_ALTERNATE_CODEDIRECTORIES = 0x1000;
const CS_HASHTYPE_SHA256 = 2;
const CS_ADHOC = 0x2;

export type MachoArch = "x64" | "arm64";

export interface MachoSegment {
  /** offset of the LC_SEGMENT_64 command in the file */
  readonly cmdOffset: number;
  readonly name: string;
  readonly vmaddr: number;
  readonly vmsize: number;
  readonly fileoff: number;
  readonly filesize: number;
}

export interface MachoInfo {
  readonly arch: MachoArch | "other";
  readonly cputype: number;
  /** MH_EXECUTE = 2, MH_DYLIB = 6, MH_BUNDLE = 8 */
  readonly filetype: number;
  readonly segments: readonly MachoSegment[];
  /** LC_LOAD_DYLIB / weak / reexport names */
  readonly dylibs: readonly string[];
  /** LC_ID_DYLIB of a dylib, if any */
  readonly id: string | null;
  readonly rpaths: readonly string[];
  /** LC_CODE_SIGNATURE: offset and size of the signature SuperBlob, or null when unsigned */
  readonly codeSignature: { readonly cmdOffset: number; readonly dataoff: number; readonly datasize: number } | null;
}

export class MachoError extends Error {
  override readonly name = "MachoError";
}

function cstr(b: Uint8Array, start: number, end: number): string {
  let e = start;
  while (e < end && b[e] !== 0) e++;
  return new TextDecoder().decode(b.subarray(start, e));
}

/** Parses the header and load commands of a thin 64-bit little-endian Mach-O file. */
export function parseMacho(bytes: Uint8Array): MachoInfo {
  if (bytes.length < 32) throw new MachoError("file too short for a Mach-O header");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== MH_MAGIC_64) throw new MachoError(`not a thin 64-bit Mach-O (magic 0x${magic.toString(16)})`);
  const cputype = dv.getUint32(4, true);
  const filetype = dv.getUint32(12, true);
  const ncmds = dv.getUint32(16, true);
  const sizeofcmds = dv.getUint32(20, true);
  const end = 32 + sizeofcmds;
  if (end > bytes.length) throw new MachoError("load commands run past the end of the file");
  const segments: MachoSegment[] = [];
  const dylibs: string[] = [];
  const rpaths: string[] = [];
  let id: string | null = null;
  let codeSignature: MachoInfo["codeSignature"] = null;
  let off = 32;
  for (let i = 0; i < ncmds; i++) {
    if (off + 8 > end) throw new MachoError(`load command ${i} runs past sizeofcmds`);
    const cmd = dv.getUint32(off, true);
    const cmdsize = dv.getUint32(off + 4, true);
    if (cmdsize < 8 || off + cmdsize > end) throw new MachoError(`load command ${i} has a bad size ${cmdsize}`);
    switch (cmd) {
      case LC_SEGMENT_64:
        segments.push({
          cmdOffset: off,
          name: cstr(bytes, off + 8, off + 24),
          vmaddr: Number(dv.getBigUint64(off + 24, true)),
          vmsize: Number(dv.getBigUint64(off + 32, true)),
          fileoff: Number(dv.getBigUint64(off + 40, true)),
          filesize: Number(dv.getBigUint64(off + 48, true)),
        });
        break;
      case LC_CODE_SIGNATURE:
        codeSignature = { cmdOffset: off, dataoff: dv.getUint32(off + 8, true), datasize: dv.getUint32(off + 12, true) };
        break;
      case LC_LOAD_DYLIB:
      case LC_LOAD_WEAK_DYLIB:
      case LC_REEXPORT_DYLIB:
        dylibs.push(cstr(bytes, off + dv.getUint32(off + 8, true), off + cmdsize));
        break;
      case LC_ID_DYLIB:
        id = cstr(bytes, off + dv.getUint32(off + 8, true), off + cmdsize);
        break;
      case LC_RPATH:
        rpaths.push(cstr(bytes, off + dv.getUint32(off + 8, true), off + cmdsize));
        break;
    }
    off += cmdsize;
  }
  const arch = cputype === CPU_TYPE_ARM64 ? "arm64" : cputype === CPU_TYPE_X86_64 ? "x64" : "other";
  return { arch, cputype, filetype, segments, dylibs, id, rpaths, codeSignature };
}

export interface CodeDirectoryInfo {
  readonly version: number;
  readonly flags: number;
  readonly identifier: string;
  readonly hashType: number;
  readonly hashSize: number;
  readonly pageSize: number;
  readonly codeLimit: number;
  readonly nCodeSlots: number;
  readonly nSpecialSlots: number;
  readonly execSegBase: number | null;
  readonly execSegLimit: number | null;
}

export interface SignatureReport {
  readonly codeDirectory: CodeDirectoryInfo;
  /** number of code pages whose hash was recomputed and matched */
  readonly pagesChecked: number;
  /** blob slot types found in the SuperBlob */
  readonly slots: readonly number[];
}

/**
 * Verifies the embedded code signature of a Mach-O file the way the kernel
 * does for an ad-hoc signed binary: structure, bounds, and every page hash.
 * Throws MachoError naming the first problem.
 */
export function verifyCodeSignature(bytes: Uint8Array, info: MachoInfo = parseMacho(bytes)): SignatureReport {
  const cs = info.codeSignature;
  if (!cs) throw new MachoError("no LC_CODE_SIGNATURE load command (unsigned)");
  const { dataoff, datasize } = cs;
  if (dataoff % 16 !== 0) throw new MachoError(`signature offset ${dataoff} is not 16-byte aligned`);
  if (dataoff + datasize > bytes.length) throw new MachoError("signature runs past the end of the file");
  const linkedit = info.segments.find((s) => s.name === "__LINKEDIT");
  if (!linkedit) throw new MachoError("no __LINKEDIT segment");
  if (dataoff < linkedit.fileoff || dataoff + datasize > linkedit.fileoff + linkedit.filesize)
    throw new MachoError("signature lies outside __LINKEDIT");
  const fileEnd = Math.max(...info.segments.map((s) => s.fileoff + s.filesize));
  if (fileEnd !== bytes.length) throw new MachoError(`segments end at ${fileEnd} but the file has ${bytes.length} bytes`);

  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // the signature is big-endian
  if (dv.getUint32(dataoff, false) !== CSMAGIC_EMBEDDED_SIGNATURE) throw new MachoError("bad SuperBlob magic");
  const sbLength = dv.getUint32(dataoff + 4, false);
  const count = dv.getUint32(dataoff + 8, false);
  if (sbLength > datasize) throw new MachoError(`SuperBlob length ${sbLength} exceeds LC_CODE_SIGNATURE size ${datasize}`);
  if (12 + count * 8 > sbLength) throw new MachoError("SuperBlob index runs past its length");
  const slots: number[] = [];
  const blobs = new Map<number, { off: number; len: number }>();
  for (let i = 0; i < count; i++) {
    const type = dv.getUint32(dataoff + 12 + i * 8, false);
    const boff = dv.getUint32(dataoff + 16 + i * 8, false);
    if (boff + 8 > sbLength) throw new MachoError(`blob ${i} starts past the SuperBlob`);
    const blen = dv.getUint32(dataoff + boff + 4, false);
    if (boff + blen > sbLength) throw new MachoError(`blob ${i} runs past the SuperBlob`);
    slots.push(type);
    blobs.set(type, { off: dataoff + boff, len: blen });
  }
  const cdBlob = blobs.get(CSSLOT_CODEDIRECTORY);
  if (!cdBlob) throw new MachoError("no CodeDirectory in the SuperBlob");
  const c = cdBlob.off;
  if (dv.getUint32(c, false) !== CSMAGIC_CODEDIRECTORY) throw new MachoError("bad CodeDirectory magic");
  const version = dv.getUint32(c + 8, false);
  const flags = dv.getUint32(c + 12, false);
  const hashOffset = dv.getUint32(c + 16, false);
  const identOffset = dv.getUint32(c + 20, false);
  const nSpecialSlots = dv.getUint32(c + 24, false);
  const nCodeSlots = dv.getUint32(c + 28, false);
  let codeLimit = dv.getUint32(c + 32, false);
  const hashSize = dv.getUint8(c + 36);
  const hashType = dv.getUint8(c + 37);
  const pageShift = dv.getUint8(c + 39);
  let execSegBase: number | null = null;
  let execSegLimit: number | null = null;
  if (version >= 0x20300) {
    const codeLimit64 = Number(dv.getBigUint64(c + 56, false));
    if (codeLimit64 !== 0) codeLimit = codeLimit64;
  }
  if (version >= 0x20400) {
    execSegBase = Number(dv.getBigUint64(c + 64, false));
    execSegLimit = Number(dv.getBigUint64(c + 72, false));
  }
  const identifier = cstr(bytes, c + identOffset, c + cdBlob.len);
  if (hashType !== CS_HASHTYPE_SHA256 || hashSize !== 32) throw new MachoError(`hash type ${hashType}/${hashSize} is not SHA-256`);
  if (pageShift === 0) throw new MachoError("page size 0 (single-page signing) is not expected here");
  const pageSize = 2 ** pageShift;
  if (codeLimit !== dataoff) throw new MachoError(`codeLimit ${codeLimit} does not end where the signature starts (${dataoff})`);
  const wantSlots = Math.ceil(codeLimit / pageSize);
  if (nCodeSlots !== wantSlots) throw new MachoError(`nCodeSlots ${nCodeSlots} but codeLimit needs ${wantSlots}`);
  if (hashOffset + nCodeSlots * hashSize > cdBlob.len) throw new MachoError("code hashes run past the CodeDirectory");
  if (hashOffset < nSpecialSlots * hashSize) throw new MachoError("special slots overlap the CodeDirectory header");
  if (execSegBase !== null && execSegLimit !== null) {
    const text = info.segments.find((s) => s.name === "__TEXT");
    if (text && (execSegBase !== text.fileoff || execSegLimit > text.filesize))
      throw new MachoError(`execSeg ${execSegBase}+${execSegLimit} is not inside __TEXT ${text.fileoff}+${text.filesize}`);
  }
  // code pages
  for (let i = 0; i < nCodeSlots; i++) {
    const start = i * pageSize;
    const stop = Math.min(start + pageSize, codeLimit);
    const got = createHash("sha256").update(bytes.subarray(start, stop)).digest();
    const want = bytes.subarray(c + hashOffset + i * hashSize, c + hashOffset + (i + 1) * hashSize);
    if (!Buffer.from(want).equals(got)) throw new MachoError(`page ${i} (offset ${start}) hash mismatch`);
  }
  // special slots: hash of each present blob (slot -n at hashOffset - n*hashSize); absent blobs hash as zeros
  for (let n = 1; n <= nSpecialSlots; n++) {
    const want = bytes.subarray(c + hashOffset - n * hashSize, c + hashOffset - (n - 1) * hashSize);
    const blob = blobs.get(n);
    if (blob) {
      const got = createHash("sha256").update(bytes.subarray(blob.off, blob.off + blob.len)).digest();
      if (!Buffer.from(want).equals(got)) throw new MachoError(`special slot -${n} hash mismatch`);
    } else if (n !== 1 && n !== 3 && want.some((x) => x !== 0)) {
      // -1 (Info.plist) and -3 (resources) refer to files outside the binary
      throw new MachoError(`special slot -${n} has a hash but no blob`);
    }
  }
  for (const t of slots) {
    if (t >= CSSLOT_ALTERNATE_CODEDIRECTORIES && t < CSSLOT_ALTERNATE_CODEDIRECTORIES + 5)
      throw new MachoError("alternate CodeDirectories are not checked by this verifier");
  }
  if ((flags & CS_ADHOC) === 0 && !blobs.has(0x10000)) throw new MachoError("neither ad-hoc nor carrying a CMS signature");
  return {
    codeDirectory: { version, flags, identifier, hashType, hashSize, pageSize, codeLimit, nCodeSlots, nSpecialSlots, execSegBase, execSegLimit },
    pagesChecked: nCodeSlots,
    slots,
  };
}

const CS_LINKER_SIGNED = 0x20000;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const MH_EXECUTE = 2;

/**
 * Replaces the file's code signature with a fresh ad-hoc one (what
 * `codesign -s -` or Apple's linker write): a SuperBlob holding one SHA-256
 * CodeDirectory over every 4 KiB page before the signature. Needed because
 * Bun (≤ 1.4.5) embeds its payload into the darwin-x64 runtime, which ships
 * Developer-ID signed, without re-signing it, so every such executable
 * carries a broken signature. Writes where the old signature started
 * (LC_CODE_SIGNATURE at the end of __LINKEDIT), sets `datasize` and
 * __LINKEDIT's filesize (growing its vmsize when it is the last segment, as
 * Bun does for arm64), and returns the new file.
 */
export function adhocSign(input: Uint8Array, identifier: string): Uint8Array {
  const info = parseMacho(input);
  const cs = info.codeSignature;
  if (!cs) throw new MachoError("no LC_CODE_SIGNATURE load command: nowhere to put a signature");
  const linkedit = info.segments.find((s) => s.name === "__LINKEDIT");
  const text = info.segments.find((s) => s.name === "__TEXT");
  if (!linkedit || !text) throw new MachoError("no __LINKEDIT/__TEXT segment");
  if (linkedit.fileoff + linkedit.filesize !== cs.dataoff + cs.datasize && linkedit.fileoff + linkedit.filesize < cs.dataoff + cs.datasize)
    throw new MachoError("signature is not at the end of __LINKEDIT");
  const codeLimit = cs.dataoff;
  const pageSize = 4096;
  const nCodeSlots = Math.ceil(codeLimit / pageSize);
  const ident = new TextEncoder().encode(`${identifier}\0`);
  const headerSize = 88; // CodeDirectory v0x20400
  const identOffset = headerSize;
  const hashOffset = identOffset + ident.length;
  const cdLength = hashOffset + nCodeSlots * 32;
  const sbLength = 12 + 8 + cdLength;
  const datasize = sbLength;
  const linkeditFilesize = codeLimit + datasize - linkedit.fileoff;
  let linkeditVmsize = linkedit.vmsize;
  if (linkeditFilesize > linkedit.vmsize) {
    // grow __LINKEDIT's mapping; only safe when nothing is mapped after it
    const last = info.segments.every((s) => s === linkedit || s.vmaddr + s.vmsize <= linkedit.vmaddr);
    if (!last) throw new MachoError(`new signature (${datasize} B) does not fit __LINKEDIT (vmsize ${linkedit.vmsize} B) and __LINKEDIT is not the last segment`);
    linkeditVmsize = Math.ceil(linkeditFilesize / 16384) * 16384;
  }

  const out = new Uint8Array(codeLimit + datasize);
  out.set(input.subarray(0, codeLimit));
  const dv = new DataView(out.buffer);
  // load commands first: the header page is hashed too
  dv.setUint32(cs.cmdOffset + 12, datasize, true);
  dv.setBigUint64(linkedit.cmdOffset + 32, BigInt(linkeditVmsize), true);
  dv.setBigUint64(linkedit.cmdOffset + 48, BigInt(linkeditFilesize), true);
  // SuperBlob
  const sb = codeLimit;
  dv.setUint32(sb, CSMAGIC_EMBEDDED_SIGNATURE, false);
  dv.setUint32(sb + 4, sbLength, false);
  dv.setUint32(sb + 8, 1, false);
  dv.setUint32(sb + 12, CSSLOT_CODEDIRECTORY, false);
  dv.setUint32(sb + 16, 20, false);
  // CodeDirectory
  const cd = sb + 20;
  dv.setUint32(cd, CSMAGIC_CODEDIRECTORY, false);
  dv.setUint32(cd + 4, cdLength, false);
  dv.setUint32(cd + 8, 0x20400, false);
  dv.setUint32(cd + 12, CS_ADHOC | CS_LINKER_SIGNED, false);
  dv.setUint32(cd + 16, hashOffset, false);
  dv.setUint32(cd + 20, identOffset, false);
  dv.setUint32(cd + 24, 0, false); // nSpecialSlots
  dv.setUint32(cd + 28, nCodeSlots, false);
  dv.setUint32(cd + 32, codeLimit, false);
  dv.setUint8(cd + 36, 32);
  dv.setUint8(cd + 37, CS_HASHTYPE_SHA256);
  dv.setUint8(cd + 38, 0);
  dv.setUint8(cd + 39, 12);
  // spare2, scatterOffset, teamOffset, spare3, codeLimit64 stay 0
  dv.setBigUint64(cd + 64, BigInt(text.fileoff), false);
  dv.setBigUint64(cd + 72, BigInt(text.filesize), false);
  dv.setBigUint64(cd + 80, BigInt(info.filetype === MH_EXECUTE ? CS_EXECSEG_MAIN_BINARY : 0), false);
  out.set(ident, cd + identOffset);
  for (let i = 0; i < nCodeSlots; i++) {
    const start = i * pageSize;
    out.set(createHash("sha256").update(out.subarray(start, Math.min(start + pageSize, codeLimit))).digest(), cd + hashOffset + i * 32);
  }
  verifyCodeSignature(out);
  return out;
}
