/**
 * What every transport says about the model and the language it transcribes (the OpenAI route's
 * `language` field, Wyoming's `transcribe` event, and the next transport's equivalent).
 */
/** the model's id on every wire (`ready` on the WebSocket, Wyoming's `info`, `/v1/models`) */
export const MODEL_ID = "gigaam-v3-e2e-rnnt";

const RUSSIAN = new Set(["ru", "rus", "russian"]);

/** absent/"auto" (the model only knows Russian, so that is what it detects) or a Russian tag: ru, rus, russian, ru-XX */
export function isAcceptedLanguage(v: string): boolean {
  const tag = v.trim().toLowerCase();
  return tag === "" || tag === "auto" || RUSSIAN.has(tag) || /^ru[-_][a-z0-9]+$/.test(tag);
}

/** the `unsupported_language` message for `v` */
export function unsupportedLanguageMessage(v: string): string {
  return `Unsupported language ${JSON.stringify(v.slice(0, 40))}: this server transcribes Russian only (language "ru")`;
}
