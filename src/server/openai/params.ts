/**
 * The form fields of OpenAI's `POST /v1/audio/transcriptions`, validated.
 *
 * - `model`: accepted, any value, ignored (there is one model).
 * - `language`: absent/empty, `auto`, or Russian (`ru`, `rus`, `russian`, `ru-RU`…);
 *   anything else → `unsupported_language` (no silent mis-transcription).
 * - `prompt`, `temperature`: accepted and ignored (greedy RNN-T decoding has
 *   neither); unknown fields (`include[]`, `chunking_strategy`…) are ignored too.
 * - `response_format`: json (default) | text | srt | vtt | verbose_json.
 * - `timestamp_granularities[]`: `segment` and/or `word` (used by verbose_json;
 *   other formats ignore them instead of failing, unlike the hosted API).
 * - `stream`: true/false (also 1/0).
 * - `hotwords` (comma-separated) and `hotwords_boost`: gigastt's biasing (src/server/request-hotwords.ts),
 *   before the `file` field. `prompt` is not turned into hotwords: it is prose (a previous
 *   sentence, a style hint), and biasing toward every word of it would distort the transcript.
 */
import { isAcceptedLanguage, unsupportedLanguageMessage } from "../../stream/language.ts";
import { GigasttError } from "../../errors.ts";
import { type HotwordList, requestHotwords } from "../../decode/hotwords.ts";

export const OPENAI_RESPONSE_FORMATS = ["json", "text", "srt", "vtt", "verbose_json"] as const;
export type OpenAiResponseFormat = (typeof OPENAI_RESPONSE_FORMATS)[number];

export type Granularity = "segment" | "word";

export interface OpenAiParams {
  responseFormat: OpenAiResponseFormat;
  /** verbose_json: segments[] (default when no granularity was asked for) */
  segments: boolean;
  /** verbose_json: words[] */
  words: boolean;
  stream: boolean;
}

/** A usage error tied to one form field (rendered as OpenAI's `param`). */
export function paramError(param: string, message: string, code: "usage" | "unsupported_language" = "usage"): GigasttError {
  return new GigasttError(code, message, { details: { param } });
}

/** Collects fields as they arrive; {@link OpenAiForm.params} validates them (idempotent). */
export class OpenAiForm {
  private responseFormat: OpenAiResponseFormat = "json";
  private readonly granularities = new Set<Granularity>();
  private stream = false;
  private hotwordsRaw: string | undefined;
  private boostRaw: string | undefined;

  /** the fields that change the response, checked on arrival (throws a usage error) */
  set(name: string, value: string): void {
    const v = value.trim();
    switch (name) {
      case "response_format":
        this.responseFormat = parseResponseFormat(v);
        return;
      case "language":
        checkLanguage(v);
        return;
      case "stream":
        this.stream = parseBool("stream", v);
        return;
      case "hotwords":
        this.hotwordsRaw = this.hotwordsRaw === undefined ? v : `${this.hotwordsRaw},${v}`;
        this.hotwords();
        return;
      case "hotwords_boost":
        this.boostRaw = v;
        this.hotwords();
        return;
      case "timestamp_granularities[]":
      case "timestamp_granularities":
        for (const g of v.split(",").map((s) => s.trim()).filter(Boolean)) this.granularities.add(parseGranularity(g));
        return;
      default:
        // model, prompt, temperature and anything else: accepted, not used
        return;
    }
  }

  /** the request's hotwords (undefined: the server's default); throws the 400 codes */
  hotwords(): HotwordList | null | undefined {
    return requestHotwords(this.hotwordsRaw, this.boostRaw);
  }

  params(): OpenAiParams {
    const g = this.granularities;
    return {
      responseFormat: this.responseFormat,
      segments: g.size === 0 || g.has("segment"),
      words: g.has("word"),
      stream: this.stream,
    };
  }
}

export function parseResponseFormat(v: string): OpenAiResponseFormat {
  if (v === "") return "json";
  if ((OPENAI_RESPONSE_FORMATS as readonly string[]).includes(v)) return v as OpenAiResponseFormat;
  throw paramError("response_format", `Unsupported response_format ${JSON.stringify(v.slice(0, 40))}. Supported: ${OPENAI_RESPONSE_FORMATS.join(", ")}`);
}

/** Russian or nothing (the rule every transport shares, stream/language.ts); anything else → 400 `unsupported_language`. */
export function checkLanguage(v: string): void {
  if (!isAcceptedLanguage(v)) throw paramError("language", unsupportedLanguageMessage(v), "unsupported_language");
}

function parseGranularity(v: string): Granularity {
  if (v === "segment" || v === "word") return v;
  throw paramError("timestamp_granularities[]", `Unsupported timestamp granularity ${JSON.stringify(v.slice(0, 40))}. Supported: segment, word`);
}

function parseBool(param: string, v: string): boolean {
  const s = v.toLowerCase();
  if (s === "true" || s === "1") return true;
  if (s === "false" || s === "0" || s === "") return false;
  throw paramError(param, `${param} must be true or false`);
}
