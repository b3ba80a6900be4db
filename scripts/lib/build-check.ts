/**
 * Checks a compiled executable without running it: file format and CPU
 * architecture match the target, the target's onnxruntime native files are
 * embedded byte for byte (found and hashed at their offset), and a darwin
 * executable carries a valid code signature (every page hash recomputed).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isElf, parseElf } from "./build-elf.ts";
import { MH_MAGIC_64, parseMacho, verifyCodeSignature, type SignatureReport } from "./build-macho.ts";
import type { NativeFile, Target } from "./build-targets.ts";

export interface ArtifactReport {
  readonly format: "elf" | "macho";
  readonly arch: string;
  readonly size: number;
  /** offset of each embedded native file, by name */
  readonly embedded: Readonly<Record<string, number>>;
  readonly signature: SignatureReport | null;
}

/**
 * Offset of `file`'s exact bytes inside `hay`, or -1. Looks for a 64 KiB
 * probe from the middle of the file, then hashes the whole candidate span.
 */
export function findEmbedded(hay: Buffer, file: Pick<NativeFile, "sha256" | "size">, fileBytes: Uint8Array): number {
  const probeLen = Math.min(65536, fileBytes.length);
  const probeAt = Math.max(0, Math.floor(fileBytes.length / 2) - Math.floor(probeLen / 2));
  const probe = Buffer.from(fileBytes.subarray(probeAt, probeAt + probeLen));
  let from = 0;
  for (;;) {
    const hit = hay.indexOf(probe, from);
    if (hit < 0) return -1;
    const start = hit - probeAt;
    if (start >= 0 && start + file.size <= hay.length) {
      const h = createHash("sha256").update(hay.subarray(start, start + file.size)).digest("hex");
      if (h === file.sha256) return start;
    }
    from = hit + 1;
  }
}

export class ArtifactError extends Error {
  override readonly name = "ArtifactError";
}

export function checkArtifact(path: string, t: Target, files: readonly NativeFile[]): ArtifactReport {
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw new ArtifactError(`${path} is empty`);
  let format: ArtifactReport["format"];
  let arch: string;
  let signature: SignatureReport | null = null;
  if (t.os === "linux") {
    if (!isElf(bytes)) throw new ArtifactError(`${path} is not an ELF file`);
    const elf = parseElf(bytes);
    format = "elf";
    arch = elf.arch;
    if (elf.type !== 2 && elf.type !== 3) throw new ArtifactError(`${path} is not an executable (ELF type ${elf.type})`);
  } else {
    if (bytes.length < 4 || bytes.readUInt32LE(0) !== MH_MAGIC_64) throw new ArtifactError(`${path} is not a thin 64-bit Mach-O file`);
    const m = parseMacho(bytes);
    format = "macho";
    arch = m.arch;
    if (m.filetype !== 2) throw new ArtifactError(`${path} is not a Mach-O executable (filetype ${m.filetype})`);
    signature = verifyCodeSignature(bytes, m);
  }
  if (arch !== t.arch) throw new ArtifactError(`${path} is built for ${arch}, expected ${t.arch}`);
  const embedded: Record<string, number> = {};
  for (const f of files) {
    const off = findEmbedded(bytes, f, readFileSync(f.source));
    if (off < 0) throw new ArtifactError(`${path} does not embed ${f.name} (${f.sha256.slice(0, 12)})`);
    embedded[f.name] = off;
  }
  return { format, arch, size: bytes.length, embedded, signature };
}
