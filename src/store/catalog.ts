/**
 * The model catalog: which files make up a model set, where they come from and
 * what they must hash to. The built-in catalog pins istupakov/gigaam-v3-onnx at
 * one revision; `--manifest FILE.json` replaces it (mirrors, newer revisions, tests).
 */
import { readFileSync } from "node:fs";
import { GigasttError } from "../errors.ts";
import type { Precision } from "../types.ts";

export interface CatalogFile {
  readonly name: string;
  /** exact byte size; undefined: taken from the server (`X-Linked-Size`) */
  readonly size?: number;
  /** lower-case hex SHA-256; undefined: taken from the server (`X-Linked-Etag`) */
  readonly sha256?: string;
  /** rough size for the free-disk check when `size` is unknown */
  readonly approxSize?: number;
  /** other names a present file may have (used as is, unverified), e.g. the Rust server's int8 encoder */
  readonly aliases?: readonly string[];
}

export interface Catalog {
  readonly repo: string;
  readonly revision: string;
  readonly files: readonly CatalogFile[];
  /** "builtin" or the manifest path */
  readonly source: string;
}

export const HF_REPO = "istupakov/gigaam-v3-onnx";
/** Pinned Hugging Face revision (never `main`). */
export const HF_REVISION = "322c3b29492673eb7d0b434bfa9dfb8653e34d02";
export const DEFAULT_ENDPOINT = "https://huggingface.co";

const VOCAB: CatalogFile = {
  name: "v3_e2e_rnnt_vocab.txt",
  size: 13_354,
  sha256: "39abae20e692998290c574e606f11a9edef2902a1995463fcff63d1490cf22b7",
};

/** fp32 set: sizes and SHA-256 from docs/MODEL.md §1 (same four hashes as the Rust gigastt). */
export const FP32_FILES: readonly CatalogFile[] = Object.freeze([
  { name: "v3_e2e_rnnt_encoder.onnx", size: 885_084_534, sha256: "cd60b3764a832e8560ae6d3ad0b10adc1a42ffae412b9476f25620aae4f4a508" },
  { name: "v3_e2e_rnnt_decoder.onnx", size: 4_599_910, sha256: "7b0a16d67fd2cb37061decc93c69e364a9ab27afee3c57495d55b1c974cf7231" },
  { name: "v3_e2e_rnnt_joint.onnx", size: 2_712_896, sha256: "602ff7017a93311aad34df1437c8d7f49911353c13d6eae7a6ee7b041339465c" },
  VOCAB,
]);

/** int8 set: hashes not published; verified against the server's LFS SHA-256 and recorded in the lock. */
export const INT8_FILES: readonly CatalogFile[] = Object.freeze([
  { name: "v3_e2e_rnnt_encoder.int8.onnx", approxSize: 225_000_000, aliases: ["v3_e2e_rnnt_encoder_int8.onnx"] },
  { name: "v3_e2e_rnnt_decoder.int8.onnx", approxSize: 1_200_000 },
  { name: "v3_e2e_rnnt_joint.int8.onnx", approxSize: 700_000 },
  VOCAB,
]);

/** Bytes of a file set (exact sizes, else the approximate ones). */
export function setBytes(files: readonly CatalogFile[]): number {
  return files.reduce((n, f) => n + (f.size ?? f.approxSize ?? 0), 0);
}

/**
 * "≈ 892 MB": the one size text of a built-in set, used by the offline error,
 * the Homebrew caveat and the README (test/readme.test.ts checks it there).
 */
export function modelSizeText(precision: Precision): string {
  return `≈ ${Math.round(setBytes(precision === "int8" ? INT8_FILES : FP32_FILES) / 1e6)} MB`;
}

export function builtinCatalog(precision: Precision): Catalog {
  return Object.freeze({ repo: HF_REPO, revision: HF_REVISION, files: precision === "int8" ? INT8_FILES : FP32_FILES, source: "builtin" });
}

/** Every file name the built-in catalog knows (both precisions), for `models list`. */
export function builtinFileNames(): string[] {
  return [...new Set([...FP32_FILES, ...INT8_FILES].map((f) => f.name))];
}

const SHA_RE = /^[0-9a-f]{64}$/;
const NAME_RE = /^[A-Za-z0-9._-][A-Za-z0-9._+-]*$/;

function bad(path: string, why: string): GigasttError {
  return new GigasttError("invalid_config", `invalid manifest ${path}: ${why}`);
}

/**
 * Parses a manifest: `{ "repo": "owner/name", "revision": "...", "files": [{ "name", "size", "sha256" }] }`.
 * `files` may also be an object `{ name: { size, sha256 } }` (the lock file's shape). size/sha256 may be
 * omitted; such files are verified against the server's `X-Linked-Size`/`X-Linked-Etag`.
 */
export function parseManifest(text: string, path = "manifest"): Catalog {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw bad(path, `not JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad(path, "expected an object");
  const o = raw as Record<string, unknown>;
  if (typeof o.repo !== "string" || !/^[^/\s]+\/[^/\s]+$/.test(o.repo)) throw bad(path, `"repo" must be "owner/name"`);
  if (typeof o.revision !== "string" || !/^[^\s/]+$/.test(o.revision) || o.revision.includes("..")) throw bad(path, `"revision" must be a non-empty string`);
  let entries: [string, unknown][];
  if (Array.isArray(o.files)) entries = o.files.map((f) => [typeof f === "object" && f !== null ? String((f as { name?: unknown }).name ?? "") : "", f]);
  else if (typeof o.files === "object" && o.files !== null) entries = Object.entries(o.files);
  else throw bad(path, `"files" must be a list`);
  if (entries.length === 0) throw bad(path, `"files" is empty`);
  const seen = new Set<string>();
  const files: CatalogFile[] = entries.map(([name, f]) => {
    if (!NAME_RE.test(name) || name === "." || name === "..") throw bad(path, `bad file name ${JSON.stringify(name)}`);
    // gigastt's own files in the model dir: the lock file, the download lock, partial downloads
    if (/^\.gigastt/i.test(name) || /\.partial(\.|$)/i.test(name)) throw bad(path, `file name ${JSON.stringify(name)} is reserved by gigastt`);
    if (seen.has(name)) throw bad(path, `file ${name} listed twice`);
    seen.add(name);
    const spec = (typeof f === "object" && f !== null ? f : {}) as Record<string, unknown>;
    const out: { name: string; size?: number; sha256?: string } = { name };
    if (spec.size !== undefined) {
      if (typeof spec.size !== "number" || !Number.isSafeInteger(spec.size) || spec.size < 0) throw bad(path, `${name}: "size" must be a byte count`);
      out.size = spec.size;
    }
    if (spec.sha256 !== undefined) {
      const s = typeof spec.sha256 === "string" ? spec.sha256.toLowerCase() : "";
      if (!SHA_RE.test(s)) throw bad(path, `${name}: "sha256" must be 64 hex digits`);
      out.sha256 = s;
    }
    return Object.freeze(out);
  });
  return Object.freeze({ repo: o.repo, revision: o.revision, files: Object.freeze(files), source: path });
}

export function loadManifest(path: string): Catalog {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new GigasttError("invalid_config", `cannot read manifest ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseManifest(text, path);
}

/** `{base}/{repo}/resolve/{revision}/{file}` */
export function fileUrl(base: string, catalog: Pick<Catalog, "repo" | "revision">, name: string): string {
  const b = base.replace(/\/+$/, "");
  const repo = catalog.repo.split("/").map(encodeURIComponent).join("/");
  return `${b}/${repo}/resolve/${encodeURIComponent(catalog.revision)}/${encodeURIComponent(name)}`;
}
