/**
 * The audio bytes of a `/v1/transcribe` request: the raw body, or — since
 * `curl -F file=@talk.wav` is what people try first — the `file` part of a
 * `multipart/form-data` body, streamed (never held whole) through the same
 * reader as the OpenAI route. Either way the body cap counts every byte.
 *
 * A multipart form may also carry `format` / `response_format` fields (before
 * or after the file); they are collected for the caller, since the result is
 * rendered only after the whole body has been read.
 */
import { GigasttError } from "../../errors.ts";
import { MultipartReader, multipartBoundary } from "../openai/multipart.ts";
import { type BodyPace, limitedBody } from "./body.ts";

/** form fields a `/v1/transcribe` form may carry besides the file */
export const UPLOAD_FIELDS = ["format", "response_format"] as const;
const MAX_FIELD_BYTES = 256;

export interface Upload {
  /** the audio bytes */
  readonly bytes: AsyncGenerator<Uint8Array>;
  /** true for a multipart form */
  readonly multipart: boolean;
  /** the file part's filename (multipart only, once its head has been read) */
  readonly filename: string | null;
  /** {@link UPLOAD_FIELDS} seen so far (all of them once `bytes` is exhausted) */
  readonly fields: ReadonlyMap<string, string>;
}

/** `src`, counting its bytes into `into.bytesIn` (for the access log line) */
export async function* countedBytes(src: AsyncIterable<Uint8Array>, into: { bytesIn: number | null }): AsyncGenerator<Uint8Array> {
  into.bytesIn ??= 0;
  for await (const chunk of src) {
    into.bytesIn += chunk.length;
    yield chunk;
  }
}

/** `counter`: where the bytes read are counted (the request's access notes); `pace`: the body timeout rules */
export function uploadOf(request: Request, limit: number, counter?: { bytesIn: number | null }, pace?: BodyPace): Upload {
  const raw = limitedBody(request.body, limit, pace);
  const body = counter ? countedBytes(raw, counter) : raw;
  const boundary = multipartBoundary(request.headers.get("content-type"));
  if (boundary === null) return { bytes: body, multipart: false, filename: null, fields: new Map() };
  const fields = new Map<string, string>();
  const upload = { bytes: null as unknown as AsyncGenerator<Uint8Array>, multipart: true, filename: null as string | null, fields };
  upload.bytes = filePart(new MultipartReader(body, boundary), upload, fields);
  return upload;
}

async function* filePart(reader: MultipartReader, upload: { filename: string | null }, fields: Map<string, string>): AsyncGenerator<Uint8Array> {
  try {
    let sawFile = false;
    for (let head = await reader.next(); head !== null; head = await reader.next()) {
      if (head.name === "file" && !sawFile) {
        sawFile = true;
        upload.filename = head.filename;
        yield* reader.body();
        continue;
      }
      if (head.name === "file") throw new GigasttError("usage", 'Only one "file" part may be uploaded');
      if (head.filename === null && (UPLOAD_FIELDS as readonly string[]).includes(head.name)) fields.set(head.name, (await reader.text(MAX_FIELD_BYTES, head.name)).trim());
      // other parts are skipped by the next `next()`
    }
    if (!sawFile)
      throw new GigasttError("usage", 'multipart/form-data body without a "file" part: send the audio as -F file=@talk.wav, or as the raw body (--data-binary @talk.wav)');
  } finally {
    reader.close();
  }
}
