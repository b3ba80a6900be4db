import { describe, expect, test } from "bun:test";
import { createKeyring, keyFingerprint, parseKeyFile, selectProtocol, validKey } from "./auth.ts";

const h = (o: Record<string, string>) => new Headers(o);

describe("keyring", () => {
  test("no key: everything passes; with keys only a listed bearer token does", () => {
    expect(createKeyring([]).check(h({}), false).ok).toBe(true);
    const k = createKeyring(["key-one-123", "key-two-456"]);
    expect(k.check(h({}), false).ok).toBe(false);
    expect(k.check(h({ authorization: "Bearer key-one-123" }), false)).toEqual({ ok: true, key: keyFingerprint("key-one-123") });
    expect(k.check(h({ authorization: "bearer key-two-456" }), false).ok).toBe(true);
    expect(k.check(h({ authorization: "Bearer key-one-12" }), false).ok).toBe(false);
    expect(k.check(h({ authorization: "Basic a2V5LW9uZS0xMjM=" }), false).ok).toBe(false);
    expect(k.check(h({ authorization: "Bearer key-one-123 extra" }), false).ok).toBe(false);
  });

  test("a WebSocket upgrade may carry the key as a sub-protocol entry (ours or OpenAI's browser form); a plain request may not", () => {
    const k = createKeyring(["key-one-123"]);
    expect(k.check(h({ "sec-websocket-protocol": "gigastt, gigastt-key.key-one-123" }), true).ok).toBe(true);
    expect(k.check(h({ "sec-websocket-protocol": "realtime, openai-insecure-api-key.key-one-123" }), true).ok).toBe(true);
    expect(k.check(h({ "sec-websocket-protocol": "gigastt-key.key-one-123" }), false).ok).toBe(false);
    expect(k.check(h({ "sec-websocket-protocol": "gigastt-key.wrong-key-1" }), true).ok).toBe(false);
    // a wrong header is not rescued by a right sub-protocol
    expect(k.check(h({ authorization: "Bearer nope-nope-1", "sec-websocket-protocol": "gigastt-key.key-one-123" }), true).ok).toBe(false);
  });

  test("replace() rotates the keys", () => {
    const k = createKeyring(["old-key-123"]);
    k.replace(["new-key-456"]);
    expect(k.check(h({ authorization: "Bearer old-key-123" }), false).ok).toBe(false);
    expect(k.check(h({ authorization: "Bearer new-key-456" }), false).ok).toBe(true);
    expect(k.size).toBe(1);
  });

  test("the selected sub-protocol never carries the key", () => {
    expect(selectProtocol(h({}))).toBeNull();
    expect(selectProtocol(h({ "sec-websocket-protocol": "gigastt-key.secret-123, gigastt" }))).toBe("gigastt");
    expect(selectProtocol(h({ "sec-websocket-protocol": "openai-insecure-api-key.secret-123" }))).toBe("gigastt");
    expect(selectProtocol(h({ "sec-websocket-protocol": "realtime, openai-insecure-api-key.x" }))).toBe("realtime");
  });

  test("fingerprint is 8 hex digits and differs per key; key files skip blanks and comments", () => {
    expect(keyFingerprint("abc")).toMatch(/^[0-9a-f]{8}$/);
    expect(keyFingerprint("abc")).not.toBe(keyFingerprint("abd"));
    expect(parseKeyFile("# rotate monthly\nkey-one-123\n\n  key-two-456  \r\n")).toEqual(["key-one-123", "key-two-456"]);
    expect(validKey("sk-abcdefgh")).toBe(true);
    expect(validKey("short")).toBe(false);
    expect(validKey("has space in it")).toBe(false);
    expect(validKey("a,b,c,d,e,f")).toBe(false);
  });
});
