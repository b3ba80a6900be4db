/**
 * The built-in page at `/`: one HTML document with its style and script
 * inlined and allowed by their SHA-256 hashes, so the CSP stays strict
 * (`default-src 'none'`, no `unsafe-inline`/`unsafe-eval`, `connect-src
 * 'self'`); the AudioWorklet is the one same-origin script file
 * (`/ui/worklet.js`). Built once at import: everything lives in the binary.
 */
import { createHash } from "node:crypto";
import { APP_JS } from "./app.ts";
import { PAGE_CSS } from "./style.ts";
import { WORKLET_JS } from "./worklet.ts";

export { WORKLET_JS };
export const WORKLET_PATH = "/ui/worklet.js";

const sha256 = (s: string) => `'sha256-${createHash("sha256").update(s, "utf8").digest("base64")}'`;

export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(APP_JS)} 'self'`,
  `style-src ${sha256(PAGE_CSS)}`,
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** the worklet is a script: it may not be framed or do anything but run in the page's AudioContext */
export const WORKLET_CSP = "default-src 'none'; frame-ancestors 'none'";

export const PERMISSIONS_POLICY = "microphone=(self), camera=(), geolocation=(), usb=(), payment=()";

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface PageInfo {
  readonly version: string;
  readonly endpoints: readonly { readonly method: string; readonly path: string; readonly what: string }[];
  readonly docs: string;
}

export function pageHtml(info: PageInfo): string {
  const rows = info.endpoints.map((e) => `<li><code>${e.method} ${escapeHtml(e.path)}</code> — ${escapeHtml(e.what)}</li>`).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gigastt</title>
<link rel="icon" href="data:,">
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
<h1>gigastt <small>${escapeHtml(info.version)}</small></h1>
<button type="button" id="langbtn" data-t="lang">Русский</button>
</header>
<main>
<p id="model" class="muted"></p>
<section id="keybox" hidden>
<p id="keyhint" class="status bad" data-t="keyNeeded" hidden>This server requires an API key.</p>
<form id="keyform" autocomplete="off">
<label for="key" data-t="key">API key</label>
<input id="key" type="password" spellcheck="false">
<button type="submit" data-t="save">Save</button>
<button type="button" id="forget" data-t="forget">Forget key</button>
</form>
</section>
<section class="card">
<h2 data-t="live">Live microphone</h2>
<div class="row">
<button type="button" id="mic" aria-pressed="false">Start</button>
<div class="meter" aria-hidden="true"><div id="level"></div></div>
</div>
<p id="livestatus" class="status" role="status"></p>
<div id="transcript" class="transcript" aria-live="polite"></div>
<p id="partial" class="partial"></p>
<ol id="finals" class="finals"></ol>
</section>
<section class="card">
<h2 data-t="files">Transcribe a file</h2>
<label id="dropzone" class="drop" for="file"><span data-t="drop">Drop an audio or video file here, or choose one</span>
<input id="file" type="file" accept="audio/*,video/*,.wav,.mp3,.flac,.ogg,.opus,.webm,.m4a,.mp4,.aac"></label>
<p id="filestatus" class="status" role="status"></p>
<div id="file-transcript" class="transcript"></div>
<p id="file-partial" class="partial"></p>
<div id="downloads" class="row" hidden>
<span data-t="download">Download</span>
<button type="button" id="dl-txt">TXT</button><button type="button" id="dl-srt">SRT</button><button type="button" id="dl-vtt">VTT</button><button type="button" id="dl-json">JSON</button>
</div>
<details><summary data-t="words">Word timings</summary><div id="words" class="words"></div></details>
</section>
<details class="api"><summary data-t="api">API</summary>
<ul>
${rows}
</ul>
<p><a href="${escapeHtml(info.docs)}">${escapeHtml(info.docs)}</a></p>
</details>
</main>
<script>${APP_JS}</script>
</body></html>
`;
}
