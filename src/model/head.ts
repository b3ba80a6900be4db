/**
 * The recognition head a model folder holds, named as the Rust gigastt names
 * it (`variant`, the `/health` and `/v1/models` id, the display name).
 * This server runs one head: GigaAM v3 e2e_rnnt (punctuation, casing and
 * number normalisation are part of its output, so no extra pass runs).
 */
import { MODEL_ID } from "../stream/language.ts";

export interface ModelHead {
  /** `--model-variant` token: "e2e_rnnt" */
  readonly variant: string;
  /** stable model id of `/health`, `/v1/models`, WS `ready` */
  readonly id: string;
  /** human-readable name of `/v1/models` */
  readonly name: string;
}

export const E2E_RNNT_HEAD: ModelHead = Object.freeze({ variant: "e2e_rnnt", id: MODEL_ID, name: "GigaAM v3 E2E RNN-T" });
