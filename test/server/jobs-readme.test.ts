/**
 * Every curl example of README's "Jobs" section, run as written (with real curl,
 * against an in-process server on the tone model, `$ID` set from the first one).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/log.ts";
import { parseServeConfig } from "../../src/server/config.ts";
import { startServer } from "../../src/server/server.ts";
import { longToneWav } from "../helpers/jobs.ts";
import { closeToneTranscriber, toneTranscriber } from "./http-helpers.ts";

const readme = await Bun.file(new URL("../../README.md", import.meta.url)).text();
const block = readme.slice(readme.indexOf("<!-- jobs-curl:begin -->"), readme.indexOf("<!-- jobs-curl:end -->"));
const examples = block
  .split("\n")
  .filter((l) => l.startsWith("curl "))
  .map((l) => l.replace(/\s+#.*$/, ""));

afterAll(() => closeToneTranscriber());

test("the README's jobs curl examples work as written, in order", async () => {
  expect(examples.length).toBe(8);
  const dir = mkdtempSync(join(tmpdir(), "gigastt-readme-"));
  const wav = longToneWav(3);
  writeFileSync(join(dir, "talk.wav"), wav);
  const config = parseServeConfig(["--port", "0", "--enable-jobs", "--jobs-dir", join(dir, "jobs")], {}, { isTTY: false, cpus: 1 });
  const server = await startServer(config, { transcriber: await toneTranscriber(), log: createLogger({ level: "silent", format: "json", write: () => {} }) });
  let id = "";
  const run = async (line: string) => {
    const cmd = line.replaceAll("http://127.0.0.1:9876", server.url);
    const proc = Bun.spawn(["sh", "-c", `${cmd} -s -w '\\n%{http_code}'`], { cwd: dir, env: { PATH: process.env.PATH ?? "", ID: id }, stdout: "pipe", stderr: "pipe" });
    const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
    expect(code).toBe(0);
    const nl = out.lastIndexOf("\n");
    return { status: Number(out.slice(nl + 1)), body: out.slice(0, nl) };
  };
  try {
    const [submit, again, show, events, result, resultJson, list, del] = examples as [string, string, string, string, string, string, string, string];
    const a = await run(submit);
    expect(a.status).toBe(202);
    const job = JSON.parse(a.body) as { job_id: string; status: string };
    expect(job.status).toBe("queued");
    id = job.job_id;
    const k1 = await run(again);
    const k2 = await run(again);
    expect([k1.status, k2.status]).toEqual([202, 202]);
    expect(JSON.parse(k2.body).job_id).toBe(JSON.parse(k1.body).job_id);
    const s = await run(show);
    expect(s.status).toBe(200);
    expect(JSON.parse(s.body)).toMatchObject({ job_id: id });
    const ev = await run(events);
    expect(ev.body.trim().split("\n").filter((l) => l.startsWith("data: ")).at(-1)).toBe('data: {"type":"done"}');
    const r = await run(result);
    expect(r.status).toBe(200);
    expect(r.body).toBe(await (await fetch(`${server.url}/v1/transcribe?format=srt`, { method: "POST", body: wav })).text());
    const rj = await run(resultJson);
    expect(JSON.parse(rj.body).text).toContain("привет мир");
    const l = await run(list);
    expect((JSON.parse(l.body) as { jobs: Array<{ job_id: string }> }).jobs.map((j) => j.job_id)).toContain(id);
    const d = await run(del);
    expect(d.status).toBe(409);
    expect(JSON.parse(d.body).code).toBe("job_not_cancellable");
  } finally {
    await server.stop();
  }
});
