/**
 * Where the model lives and which files of it are used.
 *
 * `resolveModelDir`: `--model-dir` flag > `GIGASTT_MODEL_DIR` > `~/.gigastt/models`.
 * `selectModelFiles`: the four files of GigaAM v3 e2e_rnnt, int8 graphs when asked
 * for and present (each graph falls back to fp32 on its own).
 */
import { existsSync, type Stats, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { GigasttError } from "../errors.ts";
import type { Precision } from "../types.ts";

export interface ModelFiles {
  /** absolute model directory */
  readonly dir: string;
  /** "int8" when the encoder file used is an int8 one, else "fp32" */
  readonly precision: Precision;
  /** absolute paths */
  readonly encoder: string;
  readonly decoder: string;
  readonly joint: string;
  readonly vocab: string;
}

/** File names of GigaAM v3 e2e_rnnt, as published in istupakov/gigaam-v3-onnx. */
export const MODEL_FILE_NAMES = {
  encoder: "v3_e2e_rnnt_encoder.onnx",
  decoder: "v3_e2e_rnnt_decoder.onnx",
  joint: "v3_e2e_rnnt_joint.onnx",
  vocab: "v3_e2e_rnnt_vocab.txt",
} as const;

/** int8 candidates per graph, in order of preference (the Rust server writes `_int8` for the encoder). */
export const INT8_FILE_NAMES = {
  encoder: ["v3_e2e_rnnt_encoder.int8.onnx", "v3_e2e_rnnt_encoder_int8.onnx"],
  decoder: ["v3_e2e_rnnt_decoder.int8.onnx"],
  joint: ["v3_e2e_rnnt_joint.int8.onnx"],
} as const;

function homeDir(env: Record<string, string | undefined>): string | undefined {
  return env.HOME || env.USERPROFILE || undefined;
}

function expandHome(p: string, env: Record<string, string | undefined>): string {
  const home = homeDir(env);
  if (home && (p === "~" || p.startsWith("~/") || p.startsWith("~\\"))) return join(home, p.slice(1));
  return p;
}

/** Model directory: flag > GIGASTT_MODEL_DIR > $HOME/.gigastt/models (USERPROFILE on Windows; cwd-relative without a home). */
export function resolveModelDir(flag?: string, env: Record<string, string | undefined> = process.env, cwd: string = process.cwd()): string {
  const chosen = flag?.trim() || env.GIGASTT_MODEL_DIR?.trim();
  if (chosen) {
    const p = expandHome(chosen, env);
    return isAbsolute(p) ? resolve(p) : resolve(cwd, p);
  }
  const home = homeDir(env);
  return home ? resolve(home, ".gigastt", "models") : resolve(cwd, ".gigastt", "models");
}

/** `p`'s stats when it is a regular file (following links), else null: missing, a folder, unreadable. */
export function regularFile(p: string): Stats | null {
  try {
    const s = statSync(p);
    return s.isFile() ? s : null;
  } catch {
    return null;
  }
}

function isFile(p: string): boolean {
  return regularFile(p) !== null;
}

/**
 * Picks the files to load. int8: for each graph the first int8 candidate that exists,
 * else the fp32 file. Throws `model_missing` naming every absent file and the directory.
 */
export function selectModelFiles(dir: string, precision: Precision): ModelFiles {
  const abs = resolve(dir);
  const pick = (graph: "encoder" | "decoder" | "joint"): string => {
    if (precision === "int8") {
      for (const name of INT8_FILE_NAMES[graph]) if (isFile(join(abs, name))) return name;
    }
    return MODEL_FILE_NAMES[graph];
  };
  const names = { encoder: pick("encoder"), decoder: pick("decoder"), joint: pick("joint"), vocab: MODEL_FILE_NAMES.vocab };
  const missing = Object.values(names).filter((n) => !isFile(join(abs, n)));
  if (missing.length > 0) {
    const where = existsSync(abs) ? abs : `${abs} (directory does not exist)`;
    throw new GigasttError("model_missing", `model files missing: ${missing.join(", ")} in ${where}`, {
      details: { dir: abs, missing },
    });
  }
  return Object.freeze({
    dir: abs,
    precision: names.encoder === MODEL_FILE_NAMES.encoder ? "fp32" : "int8",
    encoder: join(abs, names.encoder),
    decoder: join(abs, names.decoder),
    joint: join(abs, names.joint),
    vocab: join(abs, names.vocab),
  });
}
