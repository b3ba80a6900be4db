/** `GET /` (an index instead of a 404, or 404 to every client with --no-ui) and the startup line's route list: both name every route. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { restRoutes } from "../../src/cli/serve.ts";
import { DOCS_URL, ENDPOINTS } from "../../src/server/routes/system.ts";
import { type PlatformServer, startPlatform } from "./http-helpers.ts";

let s: PlatformServer;
beforeAll(async () => {
  s = await startPlatform(["--metrics"]);
});
afterAll(async () => {
  await s.stop();
});

function mounted(): string[] {
  const out: string[] = [];
  for (const [m, paths] of s.server.routes) for (const p of paths) if (m !== "OPTIONS") out.push(`${m} ${p}`);
  return out.sort();
}

test("GET / answers a JSON index of the API and the docs, not 404", async () => {
  const r = await fetch(`${s.url}/`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toStartWith("application/json");
  const body = (await r.json()) as { name: string; docs: string; endpoints: { method: string; path: string; what: string }[] };
  expect(body.name).toBe("gigastt");
  expect(body.docs).toBe(DOCS_URL);
  expect(body.endpoints.map((e) => `${e.method} ${e.path}`).sort()).toEqual(mounted());
  expect(r.headers.get("x-content-type-options")).toBe("nosniff");
});

test("a browser gets the built-in page, which lists the same routes", async () => {
  const r = await fetch(`${s.url}/`, { headers: { accept: "text/html,application/xhtml+xml" } });
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
  const html = await r.text();
  for (const e of ENDPOINTS) expect(html).toContain(`<code>${e.method} ${e.path}</code>`);
  expect(html).toContain(DOCS_URL);
  expect(html).toContain('id="mic"');
});

test("the startup line's `rest` list names every HTTP route, POST /v1/audio/transcriptions included", () => {
  const rest = restRoutes(s.server, { metrics: true }).map((x) => x.replace(s.url, "")).sort();
  expect(rest).toContain("POST /v1/audio/transcriptions");
  expect(rest).toEqual(mounted().filter((r) => r !== "GET /v1/ws" && r !== "GET /v1/realtime"));
  expect(restRoutes(s.server, { metrics: false }).some((x) => x.endsWith("/metrics"))).toBe(false);
});

test("--no-ui: GET / answers 404 not_found to every client (browser, API client, curl), the worklet too; the API stays", async () => {
  const off = await startPlatform(["--no-ui"]);
  try {
    for (const accept of ["text/html,application/xhtml+xml", "application/json", "*/*", ""]) {
      const r = await fetch(`${off.url}/`, { headers: accept ? { accept } : {} });
      const body = (await r.json()) as { error?: { code?: string }; code?: string };
      expect({ accept, status: r.status, code: body.error?.code ?? body.code }).toEqual({ accept, status: 404, code: "not_found" });
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    }
    expect((await fetch(`${off.url}/ui/worklet.js`)).status).toBe(404);
    expect((await fetch(`${off.url}/health`)).status).toBe(200);
    // the startup line does not announce what answers 404
    const rest = restRoutes(off.server, { metrics: false, ui: false }).map((x) => x.replace(off.url, ""));
    expect(rest.filter((r) => r === "GET /" || r === "GET /ui/worklet.js")).toEqual([]);
    expect(rest).toContain("POST /v1/transcribe");
  } finally {
    await off.stop();
  }
});
