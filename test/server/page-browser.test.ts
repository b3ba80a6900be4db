/**
 * The built-in page in a real browser: Debian's chromium, headless, driven by
 * playwright-core (nothing downloaded), a fake microphone playing a tone
 * phrase. The live transcript and a file upload must both read the phrase,
 * at 360 px wide, with no CSP violation; a screenshot of each state is kept
 * in the test's temp folder (printed).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { phraseToAudio, wavBytes } from "../helpers/tone.ts";
import { closeToneTranscriber, startToneServer, type TestServer } from "./streaming-helpers.ts";

/** the browser globals the page callbacks use (the project compiles without the DOM library) */
interface El {
  textContent: string | null;
}
declare const document: {
  getElementById(id: string): El | null;
  querySelector(sel: string): El | null;
  documentElement: { scrollWidth: number };
  addEventListener(type: "securitypolicyviolation", f: (e: { violatedDirective: string; blockedURI: string }) => void): void;
};
declare const sessionStorage: { getItem(k: string): string | null };

const CHROMIUM = "/usr/bin/chromium";
const PHRASE = "привет мир, как дела?";
const KEY = "page-key-0123456789";
const dir = mkdtempSync(join(tmpdir(), "gigastt-page-"));
const wav = join(dir, "phrase.wav");
writeFileSync(wav, wavBytes(phraseToAudio(PHRASE, { leadSec: 0.6, tailSec: 1.2 }).samples, 16000));

let browser: Browser;
let open: TestServer;
let keyed: TestServer;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${wav}%noloop`, "--autoplay-policy=no-user-gesture-required"],
  });
  open = await startToneServer();
  keyed = await startToneServer(["--api-key", KEY]);
  console.log(`page screenshots: ${dir}`);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await open?.stop();
  await keyed?.stop();
  await closeToneTranscriber();
});

interface Watched {
  ctx: BrowserContext;
  page: Page;
  violations: string[];
}

async function openPage(url: string, locale = "en-US"): Promise<Watched> {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 780 }, locale, acceptDownloads: true });
  const page = await ctx.newPage();
  const violations: string[] = [];
  await page.exposeFunction("__cspViolation", (v: string) => void violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => (globalThis as unknown as { __cspViolation(v: string): void }).__cspViolation(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on("console", (m) => {
    if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.goto(`${url}/`);
  return { ctx, page, violations };
}

const text = (p: Page, sel: string) => p.evaluate((s) => document.querySelector(s)!.textContent ?? "", sel);

describe("the page", () => {
  test("live microphone: #transcript equals the phrase; then a file upload shows it with word timings and subtitles", async () => {
    const { ctx, page, violations } = await openPage(open.url);
    try {
      await page.screenshot({ path: join(dir, "1-idle.png"), fullPage: true });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      await page.click("#mic");
      await page.waitForFunction(() => document.getElementById("partial")!.textContent !== "" || document.getElementById("transcript")!.textContent !== "", null, { timeout: 15_000 });
      await page.screenshot({ path: join(dir, "2-listening.png"), fullPage: true });
      // the fake microphone plays the phrase once (%noloop); stop after it
      await page.waitForFunction((p) => document.getElementById("transcript")!.textContent === p, PHRASE, { timeout: 15_000 }).catch(() => {});
      await page.click("#mic");
      await page.waitForFunction(() => /Ready/.test(document.getElementById("livestatus")!.textContent ?? ""), null, { timeout: 15_000 });
      expect(await text(page, "#transcript")).toBe(PHRASE);
      expect(await page.locator("#finals li").count()).toBeGreaterThan(0);
      await page.screenshot({ path: join(dir, "3-live-done.png"), fullPage: true });

      await page.setInputFiles("#file", wav);
      await page.waitForSelector("#downloads:not([hidden])", { timeout: 15_000 });
      expect(await text(page, "#file-transcript")).toBe(PHRASE);
      expect(await page.locator("#words .word").count()).toBe(PHRASE.split(" ").length);
      await page.click("#words >> xpath=..//summary");
      const [srt] = await Promise.all([page.waitForEvent("download"), page.click("#dl-srt")]);
      const srtText = readFileSync((await srt.path())!, "utf8");
      expect(srtText).toMatch(/^1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\n/);
      expect(srtText).toContain(PHRASE.split(" ")[0]!);
      const [json] = await Promise.all([page.waitForEvent("download"), page.click("#dl-json")]);
      const body = JSON.parse(readFileSync((await json.path())!, "utf8")) as { text: string; words: { word: string; start: number }[] };
      expect(body.text).toBe(PHRASE);
      expect(body.words.map((w) => w.word).join(" ")).toBe(PHRASE);
      await page.screenshot({ path: join(dir, "4-file-done.png"), fullPage: true });
      expect(violations).toEqual([]);
    } finally {
      await ctx.close();
    }
  }, 60_000);

  test("with API keys: the page says a key is needed, shows the server's error in words, and works once the key is given", async () => {
    const { ctx, page, violations } = await openPage(keyed.url, "ru-RU");
    try {
      await page.waitForSelector("#keyhint:not([hidden])", { timeout: 10_000 });
      expect(await text(page, "#mic")).toBe("Начать");
      await page.setInputFiles("#file", wav);
      await page.waitForFunction(() => /API-ключ/.test(document.getElementById("filestatus")!.textContent ?? ""), null, { timeout: 10_000 });
      await page.screenshot({ path: join(dir, "5-key-needed.png"), fullPage: true });
      await page.fill("#key", KEY);
      await page.click("#keyform button[type=submit]");
      await page.waitForSelector("#keyhint", { state: "hidden", timeout: 10_000 });
      expect(await page.evaluate(() => sessionStorage.getItem("gigastt.key"))).toBe(KEY);
      await page.setInputFiles("#file", wav);
      await page.waitForSelector("#downloads:not([hidden])", { timeout: 15_000 });
      expect(await text(page, "#file-transcript")).toBe(PHRASE);
      // the WebSocket carries the key as a sub-protocol entry
      await page.click("#mic");
      await page.waitForFunction(() => /Слушаю/.test(document.getElementById("livestatus")!.textContent ?? ""), null, { timeout: 15_000 });
      await page.click("#mic");
      await page.screenshot({ path: join(dir, "6-key-given.png"), fullPage: true });
      expect(violations).toEqual([]);
    } finally {
      await ctx.close();
    }
  }, 60_000);
});
