/**
 * Model folders the Rust gigastt (2.15) filled:
 * - its lean INT8 set of the e2e_rnnt head (`gigastt download`'s default since 2.15:
 *   `v3_e2e_rnnt_encoder_int8.onnx` + the fp32 decoder, joint and vocabulary): the int8
 *   encoder is used instead of downloading the 885 MB fp32 one;
 * - its other heads (`rnnt`, its default: `v3_rnnt_*` + `v3_vocab.txt`; the multilingual
 *   CTC packs): recognised and named in one message saying what to download instead.
 */
import { join } from "node:path";
import { INT8_FILE_NAMES, MODEL_FILE_NAMES, regularFile } from "../model/files.ts";
import { RUST_HEADS } from "../model/head.ts";
import { modelSizeText } from "./catalog.ts";

const present = (dir: string, name: string | undefined) => name !== undefined && regularFile(join(dir, name)) !== null;

/** The int8 encoder of a lean folder (no fp32 encoder, an int8 one), else null. */
export function leanInt8Encoder(dir: string): string | null {
  if (present(dir, MODEL_FILE_NAMES.encoder)) return null;
  return INT8_FILE_NAMES.encoder.find((n) => present(dir, n)) ?? null;
}

/** Whether any file of the e2e_rnnt head's encoder is in `dir` (fp32 or int8). */
function hasE2eEncoder(dir: string): boolean {
  return present(dir, MODEL_FILE_NAMES.encoder) || INT8_FILE_NAMES.encoder.some((n) => present(dir, n));
}

/**
 * When `dir` holds only other Rust heads (no e2e_rnnt encoder): one line naming them and
 * what to get instead; null otherwise.
 */
export function otherHeadsNote(dir: string): string | null {
  if (hasE2eEncoder(dir)) return null;
  const found = RUST_HEADS.filter((h) => h.variant !== "e2e_rnnt").flatMap((h) => {
    const files = [h.encoder, h.encoderInt8, h.decoder, h.joint, h.vocab].filter((n) => present(dir, n));
    return files.length > 0 ? [`${h.variant} head (${h.what}: ${[...new Set(files)].join(", ")})`] : [];
  });
  if (found.length === 0) return null;
  return (
    `${dir} holds the Rust gigastt's ${found.join(" and ")}, which this server does not run: it runs GigaAM v3 e2e_rnnt (punctuation, casing, digits). ` +
    `Get that head into the same folder with \`gigastt download\` (${modelSizeText("fp32")}; --precision int8: ${modelSizeText("int8")}) or the Rust \`gigastt download --model-variant e2e_rnnt\`; the files already there are left alone`
  );
}
