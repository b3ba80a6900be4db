import { describe, expect, test } from "bun:test";
import { defineCommand } from "citty";
import { GigasttError } from "../errors.ts";
import { checkFlags, fitHelp, globalLogLevel, runCli } from "./run.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) }, out, err };
}

const seen: Record<string, unknown>[] = [];
const root = defineCommand({
  meta: { name: "gigastt", version: "9.9.9" },
  subCommands: {
    echo: defineCommand({
      args: {
        file: { type: "positional", required: true },
        format: { type: "enum", options: ["text", "json"] },
        count: { type: "string" },
        loud: { type: "boolean" },
      },
      run: ({ args }) => {
        seen.push({ ...args });
        return args.loud ? 0 : 0;
      },
    }),
    fail: defineCommand({ run: () => { throw new GigasttError("checksum_mismatch", "bad bytes"); } }),
    crash: defineCommand({ run: () => { throw new Error("boom"); } }),
    models: defineCommand({
      subCommands: { path: defineCommand({ run: () => 0 }) },
    }),
  },
});

describe("runCli", () => {
  test("--version prints the meta version", async () => {
    const c = capture();
    expect(await runCli(root, ["--version"], c.io)).toBe(0);
    expect(c.out.join("")).toBe("9.9.9\n");
  });

  test("unknown flags and bad enum values are usage errors (exit 2) with one line", async () => {
    for (const argv of [["echo", "a.wav", "--nope"], ["echo", "a.wav", "--format", "xml"], ["echo", "a.wav", "--count"]]) {
      const c = capture();
      expect(await runCli(root, argv, c.io)).toBe(2);
      expect(c.err.join("")).toMatch(/^error\[usage\]: .+\n$/);
    }
  });

  test("unknown command → exit 2; no command → usage text and exit 2", async () => {
    expect(await runCli(root, ["nope"], capture().io)).toBe(2);
    const c = capture();
    expect(await runCli(root, [], c.io)).toBe(2);
    expect(c.out.join("")).toContain("echo");
  });

  test("known flags reach the command; --log-level may stand before or after the command", async () => {
    seen.length = 0;
    expect(await runCli(root, ["--log-level", "warn", "echo", "a.wav", "--format=json", "--count", "3"], capture().io)).toBe(0);
    expect(await runCli(root, ["echo", "b.wav", "--log-level=error", "--loud"], capture().io)).toBe(0);
    expect(seen.map((a) => [a.file, a.format, a.count, a.loud])).toEqual([
      ["a.wav", "json", "3", undefined],
      ["b.wav", undefined, undefined, true],
    ]);
    expect(await runCli(root, ["--log-level", "loud", "echo", "a.wav"], capture().io)).toBe(2);
  });

  test("a missing or an extra positional argument is a usage error (exit 2) naming it", async () => {
    const missing = capture();
    expect(await runCli(root, ["echo", "--format", "json"], missing.io)).toBe(2);
    expect(missing.err.join("")).toBe("error[usage]: missing argument FILE for 'gigastt echo' (see gigastt echo --help)\n");
    const extra = capture();
    expect(await runCli(root, ["echo", "a.wav", "b.wav"], extra.io)).toBe(2);
    expect(extra.err.join("")).toBe("error[usage]: unexpected argument 'b.wav' for 'gigastt echo' (see gigastt echo --help)\n");
    // a flag's value is not a positional; after "--" everything is; "-" (stdin) is one
    expect(await runCli(root, ["echo", "--count", "3", "a.wav"], capture().io)).toBe(0);
    expect(await runCli(root, ["echo", "--", "--odd-name.wav"], capture().io)).toBe(0);
    expect(await runCli(root, ["echo", "-"], capture().io)).toBe(0);
    expect(await runCli(root, ["echo", "a.wav", "--", "b.wav"], capture().io)).toBe(2);
    expect(await runCli(root, ["models", "path", "extra"], capture().io)).toBe(2);
    const afterSwitch = capture();
    expect(await runCli(root, ["echo", "a.wav", "--loud", "yes"], afterSwitch.io)).toBe(2);
    expect(afterSwitch.err.join("")).toContain("--loud takes no separate value (write --loud=yes");
  });

  test("--help: plain text when not asked for colours, titled with the full command name", async () => {
    const plain = capture();
    expect(await runCli(root, ["models", "path", "--help"], plain.io)).toBe(0);
    expect(plain.out.join("")).not.toContain("\x1b[");
    expect(plain.out.join("")).toContain("USAGE gigastt models path");
    const echo = capture();
    expect(await runCli(root, ["echo", "--help"], echo.io)).toBe(0);
    expect(echo.out.join("")).toMatch(/USAGE gigastt echo .*<FILE>/);
    // (whether colours appear with color: true is citty's call: it disables them under CI/TEST)
  });

  test("nested sub-commands resolve", async () => {
    expect(await runCli(root, ["models", "path"], capture().io)).toBe(0);
    expect(await runCli(root, ["models", "nope"], capture().io)).toBe(2);
  });

  test("typed errors map to their catalogue exit code; other errors to 1 without a stack", async () => {
    const c = capture();
    expect(await runCli(root, ["fail"], c.io)).toBe(4);
    expect(c.err.join("")).toBe("error[checksum_mismatch]: bad bytes\n");
    const d = capture();
    expect(await runCli(root, ["crash"], d.io)).toBe(1);
    expect(d.err.join("")).toBe("error[internal]: boom\n");
  });
});

test("checkFlags accepts --no-<boolean> and aliases, rejects --no-<string>", () => {
  const args = { loud: { type: "boolean" as const }, port: { type: "string" as const, alias: "p" } };
  expect(() => checkFlags(args, ["--no-loud", "-p", "1"], "x")).not.toThrow();
  expect(() => checkFlags(args, ["--no-port"], "x")).toThrow(GigasttError);
});

test("globalLogLevel finds the last --log-level before --", () => {
  expect(globalLogLevel(["a", "--log-level", "debug", "--log-level=warn", "--", "--log-level", "x"])).toBe("warn");
  expect(globalLogLevel(["a"])).toBeUndefined();
});

describe("help and usage for newcomers", () => {
  const gigastt = async () => (await import("../main.ts")).main;
  async function help(argv: string[], columns?: number) {
    const c = capture();
    const code = await runCli(await gigastt(), argv, { ...c.io, ...(columns !== undefined ? { columns } : {}) });
    return { code, out: c.out.join(""), err: c.err.join("") };
  }

  test("`gigastt --bogus` names the unknown flag like the commands do (exit 2, usage still shown)", async () => {
    const r = await help(["--bogus"]);
    expect(r.code).toBe(2);
    expect(r.err).toStartWith("error[usage]: unknown flag --bogus");
    expect(r.out).toContain("USAGE");
    const m = await help(["models", "--bogus=1"]);
    expect(m.code).toBe(2);
    expect(m.err).toStartWith("error[usage]: unknown flag --bogus for 'gigastt models'");
    // a global flag alone is not an error
    expect((await help(["--log-level", "debug"])).err).toBe("");
  });

  test("every --help lists --log-level", async () => {
    const cmds = [[], ["serve"], ["healthcheck"], ["download"], ["transcribe"], ["quantize"], ["models"], ["models", "list"], ["models", "verify"], ["models", "path"]];
    for (const path of cmds) {
      const r = await help([...path, "--help"]);
      expect(`${path.join(" ")}: ${r.out}`).toContain("--log-level");
    }
  });

  test("serve --help fits the terminal width, without trailing blanks", async () => {
    for (const columns of [80, 100, 60]) {
      const r = await help(["serve", "--help"], columns);
      const lines = r.out.split("\n");
      expect(lines.filter((l) => l.length > columns)).toEqual([]);
      expect(lines.filter((l) => /\s$/.test(l))).toEqual([]);
      // nothing lost in the wrapping
      expect(r.out.replace(/\s+/g, " ")).toContain("Believe X-Forwarded-For/X-Real-IP from these proxies; the bare flag (or GIGASTT_TRUST_PROXY=1) trusts loopback peers only");
    }
    // with colours (a TTY), the codes take no columns; the colour library may emit none (it turns
    // itself off under CI=true), so the fitting is also checked on coloured text made here
    const c = capture();
    await runCli(await gigastt(), ["serve", "--help"], { ...c.io, color: true, columns: 80 });
    const coloured = c.out.join("").split("\n");
    expect(coloured.filter((l) => l.replace(/\x1b\[[0-9;]*m/g, "").length > 80)).toEqual([]);
    const words = Array.from({ length: 30 }, (_, i) => `\x1b[1mword${i}\x1b[22m`).join(" ");
    const fitted = fitHelp(`  --flag    ${words}`, 40).split("\n");
    expect(fitted.length).toBeGreaterThan(1);
    expect(fitted.filter((l) => l.replace(/\x1b\[[0-9;]*m/g, "").length > 40)).toEqual([]);
    expect(fitted.join(" ").replace(/\x1b\[[0-9;]*m/g, "").replace(/\s+/g, " ")).toContain("word0 word1");
    // piped (no width known): 80 columns
    expect((await help(["serve", "--help"])).out.split("\n").filter((l) => l.length > 80)).toEqual([]);
  });
});

test("a command may print its fatal errors as one JSON line (serve in JSON log mode), usage errors included", async () => {
  const jsonCmd = Object.assign(
    defineCommand({ args: { n: { type: "string" } }, run: () => { throw new GigasttError("offline", "no model\nsecond line"); } }),
    { errorFormat: (argv: readonly string[]) => (argv.includes("--text") ? "text" : "json") },
  );
  const r = defineCommand({ meta: { name: "gigastt" }, subCommands: { s: jsonCmd } });
  for (const [argv, code, errCode] of [[["s"], 4, "offline"], [["s", "--bogus"], 2, "usage"]] as const) {
    const c = capture();
    expect(await runCli(r, [...argv], c.io)).toBe(code);
    const lines = c.err.join("").trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", code: errCode, exit_code: code, msg: expect.stringMatching(new RegExp(`^error\\[${errCode}\\]: `)) });
  }
  const c = capture();
  await runCli(r, ["s", "--text"], c.io);
  expect(c.err.join("")).toStartWith("error[");
});
