/** The shapes of the jobs module (the store's rows and the API's views). */
import type { HotwordList } from "../decode/hotwords.ts";

export const JOB_STATUSES = ["queued", "processing", "done", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export function isJobStatus(s: unknown): s is JobStatus {
  return typeof s === "string" && (JOB_STATUSES as readonly string[]).includes(s);
}

export function isTerminal(s: JobStatus): boolean {
  return s === "done" || s === "failed" || s === "cancelled";
}

/** Options captured at submission (the same query as `/v1/transcribe`). */
export interface JobParams {
  /** json | txt | srt | vtt | md (older jobs: text): the default of `/result` */
  readonly format: string;
  /** `?channels=split`: each source channel transcribed on its own (as on /v1/transcribe) */
  readonly channels?: "mix" | "split";
  /** `?codec=` + `?sample_rate=`: the upload is headerless telephone audio */
  readonly codec?: "pcmu" | "pcma" | "g722";
  readonly sample_rate?: number;
  /** the submission's rendering query options (`max_chars_per_line`, `segments`, `download`, …): the default of `/result` */
  readonly render?: Record<string, string>;
  /** `?hotwords=`: the list (null = none) fixed at submission, so a resumed job decodes as it began */
  readonly hotwords?: HotwordList | null;
}

/** One row of the `jobs` table. */
export interface JobRow {
  readonly id: string;
  readonly status: JobStatus;
  /** unix seconds */
  readonly created_at: number;
  readonly updated_at: number;
  /** unix seconds when it became done/failed/cancelled; null before */
  readonly finished_at: number | null;
  /** set once the TTL ran out: audio and result deleted, the row kept as a tombstone (410) */
  readonly expired: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly idempotency_key: string | null;
  readonly params: string;
  readonly filename: string | null;
  readonly processed_seconds: number;
  /** 0–100, monotone */
  readonly percent: number;
  readonly error: string | null;
  readonly error_code: string | null;
  readonly attempts: number;
}

/** `GET /v1/jobs/{id}` (the Rust server's JobStatusResponse, plus `created_at`). */
export interface JobView {
  readonly job_id: string;
  readonly status: JobStatus;
  readonly processed_seconds: number;
  readonly percent: number;
  readonly created_at: number;
  readonly error?: string;
  /** while processing: the text transcribed so far */
  readonly partial?: string;
}

/** `/events`: the Rust server's JobEvent. */
export type JobEvent =
  | { readonly type: "progress"; readonly percent: number; readonly processed_seconds: number }
  | { readonly type: "done" }
  | { readonly type: "failed"; readonly error: string }
  | { readonly type: "cancelled" };

export function viewOf(row: JobRow, partial?: string): JobView {
  return {
    job_id: row.id,
    status: row.status,
    processed_seconds: round3(row.processed_seconds),
    percent: Math.floor(row.percent),
    created_at: row.created_at,
    ...(row.error !== null ? { error: row.error } : {}),
    ...(partial && row.status === "processing" ? { partial } : {}),
  };
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
