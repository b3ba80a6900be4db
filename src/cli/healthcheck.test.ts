import { afterAll, describe, expect, test } from "bun:test";
import { main } from "../main.ts";
import { runCli } from "./run.ts";
import { DEFAULT_HEALTH_URL, parseHealthArgs, probeHealth } from "./healthcheck.ts";

const servers: { stop(force?: boolean): unknown }[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
});

function serve(handler: (req: Request) => Response | Promise<Response>): string {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler });
  servers.push(s);
  return `http://127.0.0.1:${s.port}/health`;
}

async function cli(argv: string[]) {
  let out = "";
  let err = "";
  const code = await runCli(main, ["healthcheck", ...argv], { stdout: (s) => void (out += s), stderr: (s) => void (err += s) });
  return { code, out, err };
}

describe("gigastt healthcheck", () => {
  test("exit 0 when /health answers 200", async () => {
    const url = serve(() => Response.json({ status: "ok" }));
    const r = await cli(["--url", url]);
    expect(r.code).toBe(0);
  });

  test("exit 1 when /health answers 503", async () => {
    const url = serve(() => new Response("down", { status: 503 }));
    expect((await cli(["--url", url])).code).toBe(1);
    expect(await probeHealth(new URL(url), 2000)).toEqual({ healthy: false, status: 503, reason: "HTTP 503" });
  });

  test("exit 1 when nothing listens", async () => {
    const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const url = `http://127.0.0.1:${s.port}/health`;
    s.stop(true);
    expect((await cli(["--url", url])).code).toBe(1);
  });

  test("exit 1 within the timeout when the server never answers", async () => {
    const url = serve(() => new Promise<Response>(() => {}));
    const t0 = performance.now();
    const r = await probeHealth(new URL(url), 300);
    expect(r).toEqual({ healthy: false, reason: "no answer within 300 ms" });
    expect(performance.now() - t0).toBeLessThan(5000);
    expect((await cli(["--url", url, "--timeout-ms", "200"])).code).toBe(1);
  });

  test("a redirect is not followed and does not count as healthy", async () => {
    const url = serve(() => new Response(null, { status: 302, headers: { location: "http://example.invalid/" } }));
    expect((await probeHealth(new URL(url), 2000)).healthy).toBe(false);
  });

  test("bad --url or --timeout-ms is a usage error (exit 2)", async () => {
    expect((await cli(["--url", "not a url"])).code).toBe(2);
    expect((await cli(["--url", "ftp://127.0.0.1/health"])).code).toBe(2);
    expect((await cli(["--timeout-ms", "0"])).code).toBe(2);
    expect((await cli(["--bogus"])).code).toBe(2);
  });

  test("defaults: the server's default port on loopback, 3 s", () => {
    expect(parseHealthArgs(undefined, undefined)).toEqual({ url: new URL(DEFAULT_HEALTH_URL), timeoutMs: 3000 });
    expect(DEFAULT_HEALTH_URL).toBe("http://127.0.0.1:9876/health");
  });
});
