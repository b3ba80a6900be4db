/** The page's stylesheet (inlined, allowed by its hash). System fonts only; fits 360 px. */
export const PAGE_CSS = String.raw`:root{color-scheme:light dark;--fg:#1b1f24;--bg:#f7f7f5;--card:#fff;--muted:#6b7280;--accent:#2563eb;--bad:#b91c1c;--line:#d6d6d0}
@media (prefers-color-scheme:dark){:root{--fg:#e6e6e3;--bg:#15171a;--card:#1f2226;--muted:#9ca3af;--accent:#60a5fa;--bad:#f87171;--line:#33373c}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:12px 16px;border-bottom:1px solid var(--line)}
h1{font-size:1.25rem;margin:0}h1 small{font-weight:400;color:var(--muted);font-size:.8rem}
h2{font-size:1.05rem;margin:0 0 10px}
main{max-width:760px;margin:0 auto;padding:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px;margin:12px 0}
.row{display:flex;flex-wrap:wrap;align-items:center;gap:8px}
button{font:inherit;padding:8px 14px;border-radius:8px;border:1px solid var(--line);background:var(--card);color:var(--fg);cursor:pointer;min-height:40px}
#mic{background:var(--accent);color:#fff;border-color:var(--accent);min-width:96px}
#mic[aria-pressed=true]{background:var(--bad);border-color:var(--bad)}
.meter{flex:1 1 120px;height:10px;border-radius:5px;background:var(--line);overflow:hidden;min-width:80px}
#level{height:100%;width:0;background:var(--accent);transition:width 80ms linear}
.status{min-height:1.4em;margin:8px 0;color:var(--muted)}.status.bad{color:var(--bad)}
.transcript{white-space:pre-wrap;word-wrap:break-word;min-height:1.5em;font-size:1.1rem}
.partial{color:var(--muted);font-style:italic;min-height:1.4em;margin:4px 0}
.finals{margin:8px 0 0;padding-left:1.4em;color:var(--muted);font-size:.9rem}.time{font-variant-numeric:tabular-nums}
.drop{display:block;border:2px dashed var(--line);border-radius:10px;padding:18px;text-align:center;cursor:pointer}
.drop.over{border-color:var(--accent)}
.drop input{display:block;margin:10px auto 0;max-width:100%}
.words{line-height:2}.word small{color:var(--muted);font-size:.7rem;margin-left:2px}
.muted{color:var(--muted);font-size:.85rem}
#keyform{display:flex;flex-wrap:wrap;gap:8px;align-items:center}#key{flex:1 1 160px;font:inherit;padding:8px;border-radius:8px;border:1px solid var(--line);background:var(--card);color:var(--fg)}
.api{font-size:.85rem;color:var(--muted)}.api code{word-break:break-all}
[hidden]{display:none!important}
`;
