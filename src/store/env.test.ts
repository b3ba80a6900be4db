import { describe, expect, test } from "bun:test";
import { hfEndpoint, hfToken, noProxyMatches, parseBoolEnv, proxyFor, resolveOffline, resolvePrecision } from "./env.ts";

describe("env", () => {
  test("booleans accept 1/0, true/false, yes/no, on/off in any case", () => {
    for (const v of ["1", "true", "YES", "On", " yes "]) expect(parseBoolEnv("X", v)).toBe(true);
    for (const v of ["0", "false", "No", "OFF", ""]) expect(parseBoolEnv("X", v)).toBe(false);
    expect(parseBoolEnv("X", undefined, true)).toBe(true);
    expect(() => parseBoolEnv("GIGASTT_OFFLINE", "maybe")).toThrow("GIGASTT_OFFLINE");
  });

  test("precision: flag > GIGASTT_PRECISION > fp32", () => {
    expect(resolvePrecision(undefined, {})).toBe("fp32");
    expect(resolvePrecision(undefined, { GIGASTT_PRECISION: "INT8" })).toBe("int8");
    expect(resolvePrecision("fp32", { GIGASTT_PRECISION: "int8" })).toBe("fp32");
    expect(() => resolvePrecision(undefined, { GIGASTT_PRECISION: "fp16" })).toThrow("GIGASTT_PRECISION");
  });

  test("offline: flag or GIGASTT_OFFLINE", () => {
    expect(resolveOffline(undefined, {})).toBe(false);
    expect(resolveOffline(true, {})).toBe(true);
    expect(resolveOffline(false, { GIGASTT_OFFLINE: "1" })).toBe(true);
  });

  test("HF_ENDPOINT and HF_TOKEN", () => {
    expect(hfEndpoint({})).toBe("https://huggingface.co");
    expect(hfEndpoint({ HF_ENDPOINT: "https://hf-mirror.com/" })).toBe("https://hf-mirror.com");
    expect(() => hfEndpoint({ HF_ENDPOINT: "ftp://x" })).toThrow("HF_ENDPOINT");
    expect(hfToken({ HF_TOKEN: "  " })).toBeUndefined();
    expect(hfToken({ HF_TOKEN: "hf_x" })).toBe("hf_x");
  });

  test("NO_PROXY matching: *, exact host, subdomains, leading dot, host:port, IPs", () => {
    const u = (s: string) => new URL(s);
    expect(noProxyMatches(u("https://huggingface.co/x"), "*")).toBe(true);
    expect(noProxyMatches(u("https://huggingface.co/x"), "huggingface.co")).toBe(true);
    expect(noProxyMatches(u("https://cdn-lfs.huggingface.co/x"), "huggingface.co")).toBe(true);
    expect(noProxyMatches(u("https://cdn-lfs.huggingface.co/x"), ".huggingface.co")).toBe(true);
    expect(noProxyMatches(u("https://cdn-lfs.huggingface.co/x"), "*.huggingface.co")).toBe(true);
    expect(noProxyMatches(u("https://nothuggingface.co/x"), "huggingface.co")).toBe(false);
    expect(noProxyMatches(u("http://127.0.0.1:8080/x"), "localhost, 127.0.0.1")).toBe(true);
    expect(noProxyMatches(u("http://127.0.0.1:8080/x"), "127.0.0.1:9090")).toBe(false);
    expect(noProxyMatches(u("http://127.0.0.1:8080/x"), "127.0.0.1:8080")).toBe(true);
    expect(noProxyMatches(u("https://example.com/x"), "example.com:443")).toBe(true);
    expect(noProxyMatches(u("http://[::1]:80/x"), "::1")).toBe(true);
    expect(noProxyMatches(u("https://a.b/x"), undefined)).toBe(false);
  });

  test("proxyFor picks HTTPS_PROXY for https, HTTP_PROXY for http, lower-case names too, unless NO_PROXY", () => {
    const env = { HTTPS_PROXY: "http://proxy:3128", http_proxy: "http://p2:8080", NO_PROXY: "internal.example" };
    expect(proxyFor("https://huggingface.co/a", env)).toBe("http://proxy:3128");
    expect(proxyFor("http://huggingface.co/a", env)).toBe("http://p2:8080");
    expect(proxyFor("https://x.internal.example/a", env)).toBeUndefined();
    expect(proxyFor("https://huggingface.co/a", {})).toBeUndefined();
  });
});
