import { expect, test } from "bun:test";
import { createLogger, warningsOn, configureLogger } from "./log.ts";
import { withFields } from "./server/request-log.ts";

function capture(format: "json" | "pretty", level: "info" | "debug" | "error" = "debug") {
  const lines: string[] = [];
  const log = createLogger({ format, level, write: (s) => void lines.push(s) });
  return { log, lines };
}

test("pretty: one line per event with a timestamp and the fields inline, objects as JSON", () => {
  const { log, lines } = capture("pretty");
  log.info("gigastt listening", { url: "http://127.0.0.1:9876", rest: ["GET /health", "POST /v1/transcribe"], pool: { size: 4 } });
  log.warn("two\nlines");
  withFields(log, { request_id: "r1" }).debug("request", { status: 200, route: "/v1/transcribe" });
  expect(lines).toHaveLength(3);
  for (const l of lines) expect(l).toMatch(/^\d\d:\d\d:\d\d\.\d{3} [A-Z]{4,5} +\S[^\n]*\n$/);
  expect(lines[0]).toContain('INFO  gigastt listening url=http://127.0.0.1:9876 rest=["GET /health","POST /v1/transcribe"] pool={"size":4}');
  expect(lines[1]).toContain("WARN  two ⏎ lines");
  expect(lines[2]).toContain("DEBUG request request_id=r1 status=200 route=/v1/transcribe");
});

test("json: one object per line with time, level, msg and the fields at the top level", () => {
  const { log, lines } = capture("json");
  withFields(log, { request_id: "r2" }).info("request", { status: 415, code: "unsupported_format" });
  const o = JSON.parse(lines[0]!);
  expect(o).toMatchObject({ level: "info", msg: "request", request_id: "r2", status: 415, code: "unsupported_format" });
  expect(Number.isNaN(Date.parse(o.time))).toBe(false);
});

test("levels: error and silent hide warnings (warningsOn follows the process-wide level)", () => {
  const { log, lines } = capture("json", "error");
  log.warn("hidden");
  log.error("shown");
  expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["shown"]);
  configureLogger({ level: "error", format: "json" });
  expect(warningsOn()).toBe(false);
  configureLogger({ level: "info", format: "json" });
  expect(warningsOn()).toBe(true);
});
