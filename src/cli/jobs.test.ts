import { describe, expect, test } from "bun:test";
import { clientApiKey, runShow } from "./jobs.ts";

describe("gigastt jobs against a server with API keys", () => {
  test("the key comes from GIGASTT_API_KEY, else the first of GIGASTT_API_KEYS", () => {
    expect(clientApiKey({})).toBeUndefined();
    expect(clientApiKey({ GIGASTT_API_KEYS: " , k1,k2" })).toBe("k1");
    expect(clientApiKey({ GIGASTT_API_KEY: "mine", GIGASTT_API_KEYS: "k1" })).toBe("mine");
  });
  test("it is sent as Authorization: Bearer; without one no header is sent", async () => {
    const seen: (string | null)[] = [];
    const fake = (async (_u: string, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get("authorization"));
      return Response.json({ job_id: "j", status: "done" });
    }) as unknown as typeof fetch;
    const stdout = () => {};
    await runShow({ id: "j", url: "http://127.0.0.1:1" }, { env: { GIGASTT_API_KEY: "secret" }, fetch: fake, stdout });
    await runShow({ id: "j", url: "http://127.0.0.1:1" }, { env: {}, fetch: fake, stdout });
    expect(seen).toEqual(["Bearer secret", null]);
  });
});
