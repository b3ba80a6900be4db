/**
 * `gigastt jobs list|show|result|cancel` talk to a running server's
 * `/v1/jobs` API (`--url`, else http://GIGASTT_HOST:GIGASTT_PORT, else
 * http://127.0.0.1:9876); `gigastt jobs check` opens the jobs database
 * itself (the server must be stopped: it holds the lock) and runs SQLite's
 * full integrity check. Errors are the server's codes (exit codes from the
 * one catalogue).
 */
import { defineCommand } from "citty";
import { join } from "node:path";
import { CATALOGUE, type ErrorCode, EXIT, GigasttError } from "../errors.ts";
import { DB_FILE, JobsDb } from "../jobs/db.ts";
import { resolveJobsDir } from "../server/config.ts";
import { probeHost } from "./healthcheck.ts";

type Env = Record<string, string | undefined>;

export interface JobsCliDeps {
  readonly env?: Env;
  readonly stdout?: (s: string) => void;
  readonly fetch?: typeof fetch;
}

const out = (d: JobsCliDeps) => d.stdout ?? ((s: string) => void process.stdout.write(s));

/** the server's base URL */
export function serverUrl(url: string | undefined, env: Env): string {
  if (url) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new GigasttError("usage", `invalid value '${url}' for '--url': expected http://host:port`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new GigasttError("usage", `invalid value '${url}' for '--url': expected http:// or https://`);
    return u.origin;
  }
  const port = env.GIGASTT_PORT?.trim() || "9876";
  return `http://${probeHost(env.GIGASTT_HOST)}:${port}`;
}

/** The key sent to a server that has API keys: GIGASTT_API_KEY, else the first of the server's GIGASTT_API_KEYS. */
export function clientApiKey(env: Env): string | undefined {
  const one = env.GIGASTT_API_KEY?.trim();
  if (one) return one;
  return env.GIGASTT_API_KEYS?.split(",").map((k) => k.trim()).find((k) => k.length > 0);
}

async function call(deps: JobsCliDeps, base: string, method: string, path: string): Promise<Response> {
  let res: Response;
  const key = clientApiKey(deps.env ?? process.env);
  try {
    res = await (deps.fetch ?? fetch)(`${base}${path}`, { method, ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}) });
  } catch (e) {
    throw new GigasttError("network_error", `cannot reach the server at ${base}: ${(e as Error).message} (is 'gigastt serve --enable-jobs' running? pass --url)`);
  }
  if (res.ok) return res;
  let code: string | undefined;
  let message = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { code?: string; message?: string; error?: string };
    code = body.code;
    message = body.message ?? body.error ?? message;
  } catch {}
  throw new GigasttError(code && code in CATALOGUE ? (code as ErrorCode) : "internal", message);
}

const idArg = { id: { type: "positional", description: "Job id", required: true } } as const;
const urlArg = { url: { type: "string", description: "Server URL (default http://$GIGASTT_HOST:$GIGASTT_PORT or http://127.0.0.1:9876)", valueHint: "URL" } } as const;

export async function runList(args: { url?: string; status?: string; json?: boolean }, deps: JobsCliDeps = {}): Promise<number> {
  const base = serverUrl(args.url, deps.env ?? process.env);
  const rows: Array<Record<string, unknown>> = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: "100" });
    if (args.status) q.set("status", args.status);
    if (cursor) q.set("cursor", cursor);
    const page = (await (await call(deps, base, "GET", `/v1/jobs?${q}`)).json()) as { jobs: Array<Record<string, unknown>>; next_cursor: string | null };
    rows.push(...page.jobs);
    cursor = page.next_cursor;
  } while (cursor);
  if (args.json) {
    out(deps)(`${JSON.stringify(rows)}\n`);
    return EXIT.ok;
  }
  const lines = rows.map((j) => `${j.job_id}  ${String(j.status).padEnd(10)}  ${String(j.percent).padStart(3)}%  ${new Date(Number(j.created_at) * 1000).toISOString()}${j.error ? `  ${j.error}` : ""}`);
  out(deps)(lines.length ? `${lines.join("\n")}\n` : "no jobs\n");
  return EXIT.ok;
}

export async function runShow(args: { id: string; url?: string }, deps: JobsCliDeps = {}): Promise<number> {
  const base = serverUrl(args.url, deps.env ?? process.env);
  out(deps)(`${JSON.stringify(await (await call(deps, base, "GET", `/v1/jobs/${encodeURIComponent(args.id)}`)).json())}\n`);
  return EXIT.ok;
}

export async function runResult(args: { id: string; url?: string; format?: string }, deps: JobsCliDeps = {}): Promise<number> {
  const base = serverUrl(args.url, deps.env ?? process.env);
  const q = args.format ? `?format=${encodeURIComponent(args.format)}` : "";
  const text = await (await call(deps, base, "GET", `/v1/jobs/${encodeURIComponent(args.id)}/result${q}`)).text();
  out(deps)(text.endsWith("\n") ? text : `${text}\n`);
  return EXIT.ok;
}

export async function runCancel(args: { id: string; url?: string }, deps: JobsCliDeps = {}): Promise<number> {
  const base = serverUrl(args.url, deps.env ?? process.env);
  await call(deps, base, "DELETE", `/v1/jobs/${encodeURIComponent(args.id)}`);
  out(deps)(`cancelled ${args.id}\n`);
  return EXIT.ok;
}

/** full integrity check of the jobs database; `jobs_store_corrupt` (exit 1) naming it when damaged */
export function runCheck(args: { jobsDir?: string }, deps: JobsCliDeps = {}): number {
  const env = deps.env ?? process.env;
  const dir = resolveJobsDir(args.jobsDir?.trim() || env.GIGASTT_JOBS_DIR?.trim() || undefined, env);
  const path = join(dir, DB_FILE);
  if (!Bun.file(path).size) {
    out(deps)(`${path}: no jobs database yet\n`);
    return EXIT.ok;
  }
  const db = JobsDb.open(path, { check: false });
  try {
    const lines = db.integrity();
    if (lines.length !== 1 || lines[0] !== "ok") throw new GigasttError("jobs_store_corrupt", `the jobs database '${path}' is damaged: ${lines.slice(0, 5).join("; ")}`);
    const usage = db.usage();
    out(deps)(`${path}: ok (${usage.jobs} jobs kept)\n`);
    return EXIT.ok;
  } finally {
    db.close();
  }
}

export function makeJobsCommand(deps: JobsCliDeps = {}) {
  return defineCommand({
    meta: { name: "jobs", description: "List, show, fetch or cancel the jobs of a running server (/v1/jobs); check the jobs database" },
    subCommands: {
      list: defineCommand({
        meta: { name: "list", description: "Every job kept, newest first" },
        args: {
          ...urlArg,
          status: { type: "enum", options: ["queued", "processing", "done", "failed", "cancelled"], description: "Only jobs with this status", valueHint: "STATUS" },
          json: { type: "boolean", description: "Machine-readable output" },
        },
        run: ({ args }) => runList({ url: args.url, status: args.status as string | undefined, json: args.json }, deps),
      }),
      show: defineCommand({
        meta: { name: "show", description: "A job's status and progress (JSON)" },
        args: { ...idArg, ...urlArg },
        run: ({ args }) => runShow({ id: args.id, url: args.url }, deps),
      }),
      result: defineCommand({
        meta: { name: "result", description: "A finished job's transcript" },
        args: { ...idArg, ...urlArg, format: { type: "string", description: "json, txt (text), srt, vtt or md (default: the one given at submission)", valueHint: "FORMAT" } },
        run: ({ args }) => runResult({ id: args.id, url: args.url, format: args.format }, deps),
      }),
      cancel: defineCommand({
        meta: { name: "cancel", description: "Cancel a queued or processing job" },
        args: { ...idArg, ...urlArg },
        run: ({ args }) => runCancel({ id: args.id, url: args.url }, deps),
      }),
      check: defineCommand({
        meta: { name: "check", description: "Integrity check of the jobs database (stop the server first)" },
        args: { "jobs-dir": { type: "string", description: "Jobs directory (default $GIGASTT_JOBS_DIR or ~/.gigastt/jobs)", valueHint: "DIR" } },
        run: ({ args }) => runCheck({ jobsDir: args["jobs-dir"] }, deps),
      }),
    },
  });
}

export default makeJobsCommand();
