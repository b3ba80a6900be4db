/**
 * The README's "Clients" examples are run as written (only the port changes)
 * against a served tone model, from a folder holding `talk.wav`: the shell
 * (curl), Bun and OpenAI JavaScript SDK blocks here, the Python and websocat ones in
 * test/conformance/test_readme_clients.py.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { phraseToAudio, wavBytes } from "./helpers/tone.ts";
import { closeToneTranscriber, startToneServer, type TestServer } from "./server/streaming-helpers.ts";

const PHRASE = "привет мир, как дела?";
const readme = await Bun.file(new URL("../README.md", import.meta.url)).text();

/** the fenced block right after `<!-- client: NAME -->` */
export function clientBlock(text: string, name: string): string {
  const m = new RegExp(`<!-- client: ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``).exec(text);
  if (!m) throw new Error(`README has no client example '${name}'`);
  return m[1]!;
}

let srv: TestServer;
let dir: string;
beforeAll(async () => {
  srv = await startToneServer();
  dir = mkdtempSync(join(tmpdir(), "gigastt-clients-"));
  writeFileSync(join(dir, "talk.wav"), wavBytes(phraseToAudio(PHRASE).samples, 16000));
});
afterAll(async () => {
  await srv.stop();
  await closeToneTranscriber();
});

const local = (code: string) => code.replaceAll("127.0.0.1:9876", `127.0.0.1:${srv.server.port}`);

async function run(argv: string[]): Promise<string> {
  const p = Bun.spawn(argv, { cwd: dir, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${argv[0]} exited ${code}: ${err}`);
  return out;
}

test("curl: text, then the SSE done event", async () => {
  const out = (await run(["bash", "-euo", "pipefail", "-c", local(clientBlock(readme, "curl"))])).trim().split("\n");
  expect(out[0]).toBe(PHRASE);
  expect(JSON.parse(out[1]!.replace(/^data: /, ""))).toMatchObject({ type: "done", text: PHRASE });
});

test("Bun: REST, then the WebSocket final", async () => {
  const file = join(dir, "client.ts");
  writeFileSync(file, local(clientBlock(readme, "bun")));
  expect((await run([process.execPath, file])).trim().split("\n")).toEqual([PHRASE, PHRASE]);
});

test("OpenAI JavaScript SDK (the pinned dev dependency): a file, then the model list", async () => {
  // beside the repository's node_modules, so that `import "openai"` resolves; run from the folder with talk.wav
  mkdirSync(join(import.meta.dir, "..", ".cache"), { recursive: true });
  const scratch = mkdtempSync(join(import.meta.dir, "..", ".cache", "readme-client-"));
  try {
    const file = join(scratch, "client.ts");
    writeFileSync(file, local(clientBlock(readme, "js-openai")));
    expect((await run([process.execPath, file])).trim().split("\n")).toEqual([PHRASE, "gigaam-v3-e2e-rnnt"]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test("every client example has a test (names)", () => {
  const names = [...readme.matchAll(/<!-- client: ([a-z-]+) -->/g)].map((m) => m[1]).sort();
  expect(names).toEqual(["bun", "curl", "js-openai", "python-openai", "python-openai-realtime", "python-websockets", "websocat"]);
});
