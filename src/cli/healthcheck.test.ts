import { afterAll, describe, expect, test } from "bun:test";
import { main } from "../main.ts";
import { runCli } from "./run.ts";
import { DEFAULT_HEALTH_URL, makeHealthcheckCommand, parseHealthArgs, probeHealth, probeHost } from "./healthcheck.ts";
import { startPlatform } from "../../test/server/http-helpers.ts";
import type { TranscriberLike } from "../server/deps.ts";

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
    expect(parseHealthArgs()).toEqual({ url: new URL(DEFAULT_HEALTH_URL), timeoutMs: 3000 });
    expect(DEFAULT_HEALTH_URL).toBe("http://127.0.0.1:9876/health");
  });

  test("--ready probes /ready; GIGASTT_PORT and a concrete GIGASTT_HOST set the target; --port wins", () => {
    expect(parseHealthArgs({ ready: true }).url.href).toBe("http://127.0.0.1:9876/ready");
    expect(parseHealthArgs({ ready: true }, { GIGASTT_PORT: "8080" }).url.href).toBe("http://127.0.0.1:8080/ready");
    expect(parseHealthArgs({ port: "7000" }, { GIGASTT_PORT: "8080" }).url.href).toBe("http://127.0.0.1:7000/health");
    expect(parseHealthArgs({}, { GIGASTT_PORT: "8080", GIGASTT_HOST: "10.1.2.3" }).url.href).toBe("http://10.1.2.3:8080/health");
    expect(parseHealthArgs({}, { GIGASTT_HOST: "::1" }).url.href).toBe("http://[::1]:9876/health");
    for (const wildcard of ["0.0.0.0", "::", "[::]", "", "localhost"]) expect(probeHost(wildcard)).toBe("127.0.0.1");
    expect(parseHealthArgs({ url: "http://127.0.0.1:9/", ready: true }).url.href).toBe("http://127.0.0.1:9/ready");
    expect(() => parseHealthArgs({ port: "0" })).toThrow("--port");
    expect(() => parseHealthArgs({}, { GIGASTT_PORT: "http" })).toThrow("GIGASTT_PORT");
    expect(() => parseHealthArgs({ url: "http://127.0.0.1:1/health", port: "2" })).toThrow("exclude");
  });

  test("against a real server: --ready is 1 while the model loads and 0 once it is loaded; plain /health is 0 throughout", async () => {
    const s = await startPlatform();
    try {
      let err = "";
      const cmd = (env: Record<string, string>) => {
        const root = { meta: { name: "gigastt" }, subCommands: { healthcheck: makeHealthcheckCommand({ env, stdout: () => {}, stderr: (x) => void (err += x) }) } };
        return (argv: string[]) => runCli(root as never, ["healthcheck", ...argv], { stdout: () => {}, stderr: () => {} });
      };
      const hc = cmd({ GIGASTT_PORT: String(s.port), GIGASTT_HOST: "0.0.0.0" });
      expect(await hc(["--ready"])).toBe(1);
      expect(err).toContain("HTTP 503 (initializing)");
      expect(await hc([])).toBe(0);
      s.server.setTranscriber({ info: { precision: "fp32", vocabSize: 1, workers: 1 } } as unknown as TranscriberLike);
      expect(await hc(["--ready"])).toBe(0);
      // --port alone, without the environment
      expect(await cmd({})(["--ready", "--port", String(s.port)])).toBe(0);
      // every slot busy: /ready is 503 pool_exhausted (as Rust, for balancers), the container is still healthy
      const slots = [];
      while (s.server.deps.admission.inUse < s.server.deps.admission.size) slots.push(await s.server.deps.admission.acquire());
      expect((await fetch(`http://127.0.0.1:${s.port}/ready`)).status).toBe(503);
      expect(await hc(["--ready"])).toBe(0);
      for (const slot of slots) slot.release();
      s.server.lifecycle.startDrain();
      err = "";
      expect(await hc(["--ready"])).toBe(1);
      expect(err).toContain("HTTP 503 (shutting_down)");
    } finally {
      await s.stop();
    }
  });
});
