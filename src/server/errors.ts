/**
 * The one HTTP error renderer: GigasttError → catalogue status and
 * `{"error", "message", "code"}` (+ `retry_after_ms` and `Retry-After`).
 * Anything else is a 500 `internal` whose details stay in the log.
 */
import { GigasttError, isGigasttError } from "../errors.ts";

export interface ErrorBody {
  readonly error: string;
  readonly message: string;
  readonly code: string;
  readonly retry_after_ms?: number;
}

/** Maps any thrown value to a safe GigasttError (unknown → `internal`). */
export function toGigasttError(e: unknown): GigasttError {
  if (isGigasttError(e)) return e;
  return new GigasttError("internal", undefined, { cause: e });
}

export function errorBody(e: GigasttError): ErrorBody {
  const retry = e.details.retry_after_ms;
  return {
    error: e.message,
    message: e.message,
    code: e.code,
    ...(typeof retry === "number" && Number.isFinite(retry) ? { retry_after_ms: Math.max(0, Math.round(retry)) } : {}),
  };
}

/** A JSON error response; headers from `extra` are added (security, CORS, request id). */
export function errorResponse(e: GigasttError, extra?: Record<string, string>): Response {
  const body = errorBody(e);
  const headers = new Headers(extra);
  headers.set("content-type", "application/json; charset=utf-8");
  if (body.retry_after_ms !== undefined) headers.set("retry-after", String(Math.max(1, Math.ceil(body.retry_after_ms / 1000))));
  return new Response(JSON.stringify(body), { status: e.http, headers });
}

/** Elysia's own error codes (routing, parsing, validation) → catalogue codes. */
export function fromFrameworkError(code: string | number, error: unknown): GigasttError {
  switch (code) {
    case "NOT_FOUND":
      return new GigasttError("not_found");
    case "PARSE":
      return new GigasttError("bad_message", "The request body could not be parsed");
    case "VALIDATION":
    case "INVALID_COOKIE_SIGNATURE":
    case "INVALID_FILE_TYPE":
      return new GigasttError("bad_message");
    default:
      if (typeof code === "number" && code === 413) return new GigasttError("payload_too_large");
      return toGigasttError(error);
  }
}
