import { describe, expect, test } from "bun:test";
import { createClientIpResolver, createHostPolicy, createOriginPolicy, isSameOrigin, requestIdFor, wantsHsts } from "./security.ts";

describe("origin policy", () => {
  const policy = createOriginPolicy({ allowOrigin: ["https://app.example.com"], allowAny: false });

  test("an absent origin is allowed without CORS headers", () => {
    expect(policy(null)).toEqual({ allowed: true, cors: null });
  });

  test("Origin: null (sandboxed iframe, data:/file: page, redirect) is foreign: denied unless listed", () => {
    expect(policy("null")).toEqual({ allowed: false, cors: null });
    expect(policy("NULL").allowed).toBe(false);
    expect(createOriginPolicy({ allowOrigin: ["null"], allowAny: false })("null")).toEqual({ allowed: true, cors: "null" });
  });

  test.each(["http://localhost", "http://localhost:3000", "https://127.0.0.1:8443", "http://[::1]:9876", "HTTP://LOCALHOST:1"])("loopback %s is allowed and echoed", (o) => {
    expect(policy(o)).toEqual({ allowed: true, cors: o });
  });

  test.each(["http://localhost.evil.com", "http://127.0.0.1.evil.com", "http://evil.com", "http://127.0.0.2", "ftp://localhost", "http://localhost:3000.evil.com", "https://app.example.com.evil.com", "https://app.example.com:444"])(
    "%s is denied",
    (o) => {
      expect(policy(o).allowed).toBe(false);
    },
  );

  test("listed origins match exactly, case-insensitively", () => {
    expect(policy("https://APP.example.com")).toEqual({ allowed: true, cors: "https://APP.example.com" });
    expect(policy("http://app.example.com").allowed).toBe(false);
  });

  test("--cors-allow-any answers *", () => {
    expect(createOriginPolicy({ allowOrigin: [], allowAny: true })("https://any.where")).toEqual({ allowed: true, cors: "*" });
  });
});

describe("host policy", () => {
  const loopback = createHostPolicy({ bindHost: "127.0.0.1", wildcard: false, allowHost: ["stt.example.com", "box.lan:8080"], port: () => 9876 });

  test.each(["localhost:9876", "127.0.0.1:9876", "[::1]:9876", "LOCALHOST:9876", "localhost", "stt.example.com", "stt.example.com:443", "box.lan:8080"])("%s accepted", (h) => {
    expect(loopback(h)).toBe(true);
  });

  test.each(["evil.com", "evil.com:9876", "localhost:1234", "localhost.evil.com:9876", "box.lan", "box.lan:8081", "192.168.1.5:9876", "127.0.0.2:9876"])("%s refused", (h) => {
    expect(loopback(h)).toBe(false);
  });

  test("a request without Host is not a browser: accepted", () => {
    expect(loopback(null)).toBe(true);
  });

  test("the bound address is accepted; wildcard without --allow-host accepts anything; with it, only the list", () => {
    expect(createHostPolicy({ bindHost: "192.168.1.5", wildcard: false, allowHost: [], port: () => 80 })("192.168.1.5:80")).toBe(true);
    expect(createHostPolicy({ bindHost: "::1", wildcard: false, allowHost: [], port: () => 80 })("[::1]:80")).toBe(true);
    expect(createHostPolicy({ bindHost: "0.0.0.0", wildcard: true, allowHost: [], port: () => 80 })("whatever.example")).toBe(true);
    const listed = createHostPolicy({ bindHost: "0.0.0.0", wildcard: true, allowHost: ["stt.lan"], port: () => 80 });
    expect(listed("stt.lan:80")).toBe(true);
    expect(listed("other.lan:80")).toBe(false);
    expect(listed("0.0.0.0:80")).toBe(false);
  });
});

describe("client IP", () => {
  const h = (o: Record<string, string>) => new Headers(o);

  test("without --trust-proxy the TCP peer wins and forwarded headers are ignored", () => {
    const r = createClientIpResolver([]);
    expect(r("127.0.0.1", h({ "x-forwarded-for": "1.2.3.4", "x-real-ip": "5.6.7.8" }))).toEqual({ ip: "127.0.0.1", viaTrustedProxy: false });
    expect(r("::ffff:10.0.0.1", h({}))).toEqual({ ip: "10.0.0.1", viaTrustedProxy: false });
  });

  test("a trusted peer: the right-most untrusted X-Forwarded-For hop wins", () => {
    const r = createClientIpResolver(["127.0.0.0/8", "10.0.0.0/8"]);
    expect(r("127.0.0.1", h({ "x-forwarded-for": "6.6.6.6, 1.2.3.4, 10.0.0.7" })).ip).toBe("1.2.3.4");
    expect(r("127.0.0.1", h({ "x-forwarded-for": "10.0.0.9" })).ip).toBe("10.0.0.9");
    expect(r("127.0.0.1", h({ "x-forwarded-for": "junk, 10.0.0.9" })).ip).toBe("10.0.0.9");
    expect(r("127.0.0.1", h({ "x-real-ip": "8.8.8.8" })).ip).toBe("8.8.8.8");
    expect(r("127.0.0.1", h({ "x-real-ip": "not an ip" })).ip).toBe("127.0.0.1");
    expect(r("127.0.0.1", h({})).viaTrustedProxy).toBe(true);
  });

  test("an untrusted peer's forwarded headers are ignored", () => {
    const r = createClientIpResolver(["10.0.0.0/8"]);
    expect(r("127.0.0.1", h({ "x-forwarded-for": "1.2.3.4" }))).toEqual({ ip: "127.0.0.1", viaTrustedProxy: false });
  });
});

test("HSTS only when a trusted proxy says https", () => {
  expect(wantsHsts(true, new Headers({ "x-forwarded-proto": "https" }))).toBe(true);
  expect(wantsHsts(true, new Headers({ "x-forwarded-proto": "http, https" }))).toBe(true);
  expect(wantsHsts(true, new Headers({ "x-forwarded-proto": "http" }))).toBe(false);
  expect(wantsHsts(false, new Headers({ "x-forwarded-proto": "https" }))).toBe(false);
  expect(wantsHsts(true, new Headers())).toBe(false);
});

test("request ids: safe ≤ 128 chars kept, anything else replaced by a UUIDv7", () => {
  expect(requestIdFor("abc-123_X.y:z")).toBe("abc-123_X.y:z");
  expect(requestIdFor("a".repeat(128))).toBe("a".repeat(128));
  const minted = requestIdFor("a".repeat(129));
  expect(minted).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (const bad of ["", "with space", "new\nline", "<script>", "ümlaut", "x\"y"]) expect(requestIdFor(bad, () => "minted")).toBe("minted");
  expect(requestIdFor(null, () => "minted")).toBe("minted");
});

describe("same origin", () => {
  test("the Origin naming the request's Host is same-origin; anything else is not", () => {
    expect(isSameOrigin("http://192.168.1.5:9876", "192.168.1.5:9876")).toBe(true);
    expect(isSameOrigin("https://STT.example.com", "stt.example.com")).toBe(true);
    expect(isSameOrigin("http://evil.example", "stt.example.com")).toBe(false);
    expect(isSameOrigin("http://stt.example.com:1", "stt.example.com")).toBe(false);
    expect(isSameOrigin(null, "a")).toBe(false);
    expect(isSameOrigin("http://a/x", "a")).toBe(false);
  });
});
