/** The page as served: strict CSP by hash, microphone for self only, hooks, nothing from another origin. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { closeToneTranscriber, startToneServer, type TestServer } from "./streaming-helpers.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startToneServer();
});
afterAll(async () => {
  await s.stop();
  await closeToneTranscriber();
});

const hash = (x: string) => `'sha256-${createHash("sha256").update(x, "utf8").digest("base64")}'`;

test("the CSP allows exactly the inline script and style by hash; no unsafe-*; connect-src 'self'", async () => {
  const r = await fetch(`${s.url}/`, { headers: { accept: "text/html" } });
  const csp = r.headers.get("content-security-policy")!;
  const html = await r.text();
  const directives = new Map(csp.split(/;\s*/).map((d) => [d.split(" ")[0]!, d.split(" ").slice(1)]));
  expect(directives.get("default-src")).toEqual(["'none'"]);
  expect(directives.get("connect-src")).toEqual(["'self'"]);
  expect(csp).not.toContain("unsafe");
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
  expect(scripts).toHaveLength(1);
  expect(styles).toHaveLength(1);
  expect(directives.get("script-src")).toEqual([hash(scripts[0]!), "'self'"]);
  expect(directives.get("style-src")).toEqual([hash(styles[0]!)]);
  expect(html).not.toMatch(/\sstyle="/); // inline style attributes would need unsafe-hashes
  expect(r.headers.get("permissions-policy")).toContain("microphone=(self)");
  for (const id of ["mic", "transcript", "file"]) expect(html).toContain(`id="${id}"`);
});

test("nothing is loaded from another origin (no CDN, no web fonts)", async () => {
  const html = await (await fetch(`${s.url}/`, { headers: { accept: "text/html" } })).text();
  const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
  // the one external URL is the documentation link (a navigation, not a load)
  expect(refs.filter((u) => /^(https?:)?\/\//.test(u) && !/^<a/.test(u))).toEqual(["https://github.com/gigastt/gigastt#server"]);
  expect(html).not.toMatch(/@import|url\(|@font-face/);
});

test("API routes keep default-src 'none'; the worklet is JavaScript", async () => {
  expect((await fetch(`${s.url}/v1/models`)).headers.get("content-security-policy")).toStartWith("default-src 'none'");
  expect((await fetch(`${s.url}/health`)).headers.get("content-security-policy")).toStartWith("default-src 'none'");
  const w = await fetch(`${s.url}/ui/worklet.js`);
  expect(w.headers.get("content-type")).toStartWith("text/javascript");
  expect(await w.text()).toContain('registerProcessor("pcm16-capture"');
});

test("the page's own origin passes the Origin check on any allowed Host (POST and the WS upgrade); a foreign one does not", async () => {
  const { rawRequest, upgradeHeaders } = await import("./http-helpers.ts");
  const own = await startToneServer(["--allow-host", "stt.lan"]);
  try {
    const port = own.server.port;
    const host = `stt.lan:${port}`;
    const same = await rawRequest(port, { method: "POST", path: "/v1/transcribe", headers: { host, origin: `http://${host}` }, body: "" });
    expect(same.status).toBe(400); // empty_body: past the Origin check
    expect(same.json()).toMatchObject({ code: "empty_body" });
    const ws = await rawRequest(port, { path: "/v1/ws", headers: upgradeHeaders({ host, origin: `http://${host}` }) });
    expect(ws.status).toBe(101);
    const foreign = await rawRequest(port, { method: "POST", path: "/v1/transcribe", headers: { host, origin: "http://evil.example" }, body: "" });
    expect(foreign.status).toBe(403);
  } finally {
    await own.stop();
  }
});
