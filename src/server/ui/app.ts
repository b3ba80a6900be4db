/**
 * The page's script (inlined into `/`, allowed by its hash in the CSP).
 * Plain browser JavaScript kept as a string: no build step, no network but
 * the same origin. Hooks: #mic (start/stop), #transcript (finals, plain
 * text), #file (file input).
 */
export const APP_JS = String.raw`(function () {
  "use strict";
  var T = {
    en: {
      title: "Speech to text", lang: "Русский", live: "Live microphone", start: "Start", stop: "Stop",
      files: "Transcribe a file", drop: "Drop an audio or video file here, or choose one", key: "API key",
      keyNeeded: "This server requires an API key.", save: "Save", forget: "Forget key", words: "Word timings",
      download: "Download", idle: "Ready", connecting: "Connecting…", listening: "Listening…", finishing: "Finishing…",
      uploading: "Transcribing {name}…", at: "{s} s transcribed", done: "Done: {s} s of audio", noMic: "The microphone is not available: {m}",
      closed: "The connection closed: {m}", api: "API", model: "Model", partial: "partial",
      e_unauthorized: "An API key is required, or the key is wrong.", e_rate_limited: "Too many requests: try again in {n} s.",
      e_timeout: "The server is busy: try again in a moment.", e_shutting_down: "The server is shutting down.", e_pool_closed: "The server is shutting down.",
      e_not_ready: "The model is still loading: try again shortly.", e_origin_denied: "This page's origin is not allowed by the server.",
      e_host_not_allowed: "This host name is not allowed by the server.", e_payload_too_large: "The file is larger than the server accepts.",
      e_invalid_audio: "The file could not be decoded as audio.", e_unsupported_format: "This audio format is not supported: {m}",
      e_audio_too_long: "The audio is longer than the server accepts.", e_audio_too_short: "The audio is too short to transcribe.",
      e_empty_body: "The file is empty.", e_idle_timeout: "The session was idle too long.", e_max_session_duration_exceeded: "The session reached its maximum length.",
      e_backlog_exceeded: "Audio arrives faster than the server can transcribe it.", e_network: "The server cannot be reached."
    },
    ru: {
      title: "Распознавание речи", lang: "English", live: "Микрофон", start: "Начать", stop: "Стоп",
      files: "Распознать файл", drop: "Перетащите сюда аудио- или видеофайл или выберите его", key: "API-ключ",
      keyNeeded: "Сервер требует API-ключ.", save: "Сохранить", forget: "Забыть ключ", words: "Слова и время",
      download: "Скачать", idle: "Готово к работе", connecting: "Подключение…", listening: "Слушаю…", finishing: "Завершаю…",
      uploading: "Распознаю {name}…", at: "Распознано {s} с", done: "Готово: {s} с аудио", noMic: "Микрофон недоступен: {m}",
      closed: "Соединение закрыто: {m}", api: "API", model: "Модель", partial: "черновик",
      e_unauthorized: "Нужен API-ключ, или ключ неверный.", e_rate_limited: "Слишком много запросов: повторите через {n} с.",
      e_timeout: "Сервер занят: попробуйте чуть позже.", e_shutting_down: "Сервер завершает работу.", e_pool_closed: "Сервер завершает работу.",
      e_not_ready: "Модель ещё загружается: попробуйте чуть позже.", e_origin_denied: "Сервер не принимает запросы с этого адреса страницы.",
      e_host_not_allowed: "Сервер не принимает это имя хоста.", e_payload_too_large: "Файл больше, чем принимает сервер.",
      e_invalid_audio: "Файл не удалось прочитать как аудио.", e_unsupported_format: "Этот формат не поддерживается: {m}",
      e_audio_too_long: "Запись длиннее, чем принимает сервер.", e_audio_too_short: "Запись слишком короткая.",
      e_empty_body: "Файл пустой.", e_idle_timeout: "Сессия простаивала слишком долго.", e_max_session_duration_exceeded: "Сессия достигла предельной длины.",
      e_backlog_exceeded: "Звук приходит быстрее, чем сервер успевает распознавать.", e_network: "Сервер недоступен."
    }
  };
  var RATES = [8000, 16000, 24000, 44100, 48000];
  var $ = function (id) { return document.getElementById(id); };
  var lang = (function () {
    try { var l = localStorage.getItem("gigastt.lang"); if (l === "ru" || l === "en") return l; } catch (e) {}
    return (navigator.language || "").toLowerCase().indexOf("ru") === 0 ? "ru" : "en";
  })();
  function t(k, vars) {
    var s = (T[lang] && T[lang][k]) || T.en[k] || k;
    if (vars) for (var v in vars) s = s.split("{" + v + "}").join(String(vars[v]));
    return s;
  }
  function applyLang() {
    document.documentElement.lang = lang;
    var els = document.querySelectorAll("[data-t]");
    for (var i = 0; i < els.length; i++) els[i].textContent = t(els[i].getAttribute("data-t"));
    $("mic").textContent = live ? t("stop") : t("start");
    document.title = "gigastt — " + t("title");
  }
  function key() { try { return sessionStorage.getItem("gigastt.key") || ""; } catch (e) { return ""; } }
  function authHeaders(h) { h = h || {}; var k = key(); if (k) h.authorization = "Bearer " + k; return h; }
  function errorText(body, status) {
    var code = body && (body.code || (body.error && body.error.code));
    if (!code && status === 401) code = "unauthorized";
    if (!code && status === 429) code = "rate_limited";
    if (code === "unauthorized") showKey(true);
    var msg = body && typeof body.message === "string" ? body.message : "";
    var k = "e_" + code;
    if (code && (T[lang][k] || T.en[k])) {
      var n = body && typeof body.retry_after_ms === "number" ? Math.max(1, Math.ceil(body.retry_after_ms / 1000)) : 1;
      return t(k, { n: n, m: msg });
    }
    return msg || ("HTTP " + status);
  }
  function say(el, text, bad) { el.textContent = text; el.className = bad ? "status bad" : "status"; }
  function showKey(need) { $("keybox").hidden = false; $("keyhint").hidden = !need; }
  function fmt(s) { return (Math.round(s * 100) / 100).toFixed(2); }
  function stamp(s) {
    var m = Math.floor(s / 60), r = s - m * 60;
    return m + ":" + (r < 10 ? "0" : "") + r.toFixed(1);
  }

  // ---- server info and the key --------------------------------------------------
  function probe() {
    fetch("/v1/models", { headers: authHeaders() }).then(function (r) {
      return r.json().then(function (b) {
        if (r.ok) { $("model").textContent = t("model") + ": " + b.id + " · " + b.precision; $("keyhint").hidden = true; }
        else say($("livestatus"), errorText(b, r.status), true);
      });
    }).catch(function () { say($("livestatus"), t("e_network"), true); });
  }
  $("keyform").addEventListener("submit", function (ev) {
    ev.preventDefault();
    try { sessionStorage.setItem("gigastt.key", $("key").value.trim()); } catch (e) {}
    $("key").value = "";
    probe();
  });
  $("forget").addEventListener("click", function () { try { sessionStorage.removeItem("gigastt.key"); } catch (e) {} probe(); });
  $("langbtn").addEventListener("click", function () {
    lang = lang === "ru" ? "en" : "ru";
    try { localStorage.setItem("gigastt.lang", lang); } catch (e) {}
    applyLang();
  });

  // ---- live microphone over /v1/ws ----------------------------------------------
  var live = null;
  function appendFinal(msg) {
    if (!msg.text) return;
    var tr = $("transcript");
    tr.textContent = tr.textContent ? tr.textContent + " " + msg.text : msg.text;
    var w = msg.words || [];
    var li = document.createElement("li");
    var tm = document.createElement("span");
    tm.className = "time";
    tm.textContent = w.length ? stamp(w[0].start) + "–" + stamp(w[w.length - 1].end) : "";
    li.appendChild(tm);
    li.appendChild(document.createTextNode(" " + msg.text));
    $("finals").appendChild(li);
  }
  function stopLive(reason) {
    var s = live;
    if (!s) return;
    live = null;
    $("mic").textContent = t("start");
    $("mic").setAttribute("aria-pressed", "false");
    try { s.node && s.node.disconnect(); } catch (e) {}
    try { s.stream && s.stream.getTracks().forEach(function (x) { x.stop(); }); } catch (e) {}
    try { s.ctx && s.ctx.close(); } catch (e) {}
    $("level").style.width = "0%";
    if (s.ws && s.ws.readyState === 1) {
      say($("livestatus"), t("finishing"));
      s.ws.send(JSON.stringify({ type: "stop" }));
    } else if (reason) say($("livestatus"), reason, true);
  }
  function startLive() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { say($("livestatus"), t("noMic", { m: "getUserMedia" }), true); return; }
    var s = { ws: null, ctx: null, stream: null, node: null, ready: false, failed: false };
    live = s;
    $("mic").textContent = t("stop");
    $("mic").setAttribute("aria-pressed", "true");
    say($("livestatus"), t("connecting"));
    navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } }).then(function (stream) {
      s.stream = stream;
      var ctx = new AudioContext();
      if (RATES.indexOf(ctx.sampleRate) < 0) { ctx.close(); ctx = new AudioContext({ sampleRate: 48000 }); }
      s.ctx = ctx;
      return ctx.audioWorklet.addModule("/ui/worklet.js").then(function () {
        if (live !== s) return;
        var src = ctx.createMediaStreamSource(stream);
        var node = new AudioWorkletNode(ctx, "pcm16-capture");
        s.node = node;
        var k = key();
        var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/ws";
        var ws = k ? new WebSocket(url, ["gigastt", "gigastt-key." + k]) : new WebSocket(url);
        ws.binaryType = "arraybuffer";
        s.ws = ws;
        ws.onopen = function () { ws.send(JSON.stringify({ type: "configure", sample_rate: ctx.sampleRate })); };
        ws.onmessage = function (ev) {
          var m;
          try { m = JSON.parse(ev.data); } catch (e) { return; }
          if (m.type === "ready") { s.ready = true; say($("livestatus"), t("listening")); }
          else if (m.type === "partial") { $("partial").textContent = m.text; }
          else if (m.type === "final") { $("partial").textContent = ""; appendFinal(m); }
          else if (m.type === "error") { s.failed = true; say($("livestatus"), errorText(m, 0), true); }
        };
        ws.onclose = function (ev) {
          $("partial").textContent = "";
          if (live === s) stopLive();
          if (!s.failed) {
            if (!s.ready) say($("livestatus"), key() ? t("closed", { m: ev.code }) : t("e_unauthorized") + " / " + t("closed", { m: ev.code }), true);
            else say($("livestatus"), t("idle"));
          }
          if (!s.ready) probe();
        };
        node.port.onmessage = function (ev) {
          $("level").style.width = Math.min(100, Math.round(ev.data.level * 100)) + "%";
          if (s.ready && ws.readyState === 1 && live === s) ws.send(ev.data.pcm);
        };
        src.connect(node);
      });
    }).catch(function (e) { stopLive(t("noMic", { m: e && e.message ? e.message : String(e) })); });
  }
  $("mic").addEventListener("click", function () { if (live) stopLive(); else startLive(); });

  // ---- files: POST /v1/transcribe/stream (SSE) ------------------------------------
  var result = null;
  function cues() {
    return result.finals.filter(function (f) { return f.words && f.words.length; }).map(function (f) {
      return { start: f.words[0].start, end: f.words[f.words.length - 1].end, text: f.text };
    });
  }
  function ts(s, sep) {
    var ms = Math.round(s * 1000), h = Math.floor(ms / 3600000), m = Math.floor(ms / 60000) % 60, sec = Math.floor(ms / 1000) % 60, r = ms % 1000;
    var p = function (n, w) { n = String(n); while (n.length < w) n = "0" + n; return n; };
    return p(h, 2) + ":" + p(m, 2) + ":" + p(sec, 2) + sep + p(r, 3);
  }
  var RENDER = {
    txt: function () { return result.text + "\n"; },
    json: function () {
      var words = [];
      result.finals.forEach(function (f) { words = words.concat(f.words || []); });
      return JSON.stringify({ text: result.text, duration: result.duration, segments: cues(), words: words }, null, 2) + "\n";
    },
    srt: function () { return cues().map(function (c, i) { return (i + 1) + "\n" + ts(c.start, ",") + " --> " + ts(c.end, ",") + "\n" + c.text + "\n"; }).join("\n"); },
    vtt: function () { return "WEBVTT\n\n" + cues().map(function (c) { return ts(c.start, ".") + " --> " + ts(c.end, ".") + "\n" + c.text + "\n"; }).join("\n"); }
  };
  var MIME = { txt: "text/plain", json: "application/json", srt: "application/x-subrip", vtt: "text/vtt" };
  function download(kind) {
    if (!result) return;
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([RENDER[kind]()], { type: MIME[kind] + ";charset=utf-8" }));
    a.download = (result.name.replace(/\.[^.]+$/, "") || "transcript") + "." + kind;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  ["txt", "srt", "vtt", "json"].forEach(function (k) { $("dl-" + k).addEventListener("click", function () { download(k); }); });
  function showWords() {
    var box = $("words");
    box.textContent = "";
    result.finals.forEach(function (f) {
      (f.words || []).forEach(function (w) {
        var span = document.createElement("span");
        span.className = "word";
        span.title = fmt(w.start) + "–" + fmt(w.end) + " s";
        span.textContent = w.word;
        var tm = document.createElement("small");
        tm.textContent = fmt(w.start);
        span.appendChild(tm);
        box.appendChild(span);
        box.appendChild(document.createTextNode(" "));
      });
    });
  }
  function transcribeFile(file) {
    if (!file) return;
    result = null;
    $("downloads").hidden = true;
    $("file-transcript").textContent = "";
    $("words").textContent = "";
    $("file-partial").textContent = "";
    say($("filestatus"), t("uploading", { name: file.name }));
    var finals = [];
    var form = new FormData();
    form.append("file", file, file.name);
    fetch("/v1/transcribe/stream", { method: "POST", body: form, headers: authHeaders() })
      .then(function (r) {
        if (!r.ok) return r.json().then(function (b) { say($("filestatus"), errorText(b, r.status), true); }, function () { say($("filestatus"), "HTTP " + r.status, true); });
        var reader = r.body.getReader(), dec = new TextDecoder(), buf = "", failed = false;
        function handle(ev) {
          if (ev.type === "partial") {
            $("file-partial").textContent = ev.text;
            var w = ev.words || [];
            if (w.length) say($("filestatus"), t("at", { s: fmt(w[w.length - 1].end) }));
          } else if (ev.type === "final") {
            $("file-partial").textContent = "";
            finals.push(ev);
            var ft = $("file-transcript");
            if (ev.text) ft.textContent = ft.textContent ? ft.textContent + " " + ev.text : ev.text;
            var fw = ev.words || [];
            if (fw.length) say($("filestatus"), t("at", { s: fmt(fw[fw.length - 1].end) }));
          } else if (ev.type === "error") { failed = true; say($("filestatus"), errorText(ev, 0), true); }
          else if (ev.type === "done") {
            result = { name: file.name, text: ev.text, duration: ev.duration, finals: finals };
            $("file-transcript").textContent = ev.text;
            showWords();
            $("downloads").hidden = false;
            if (!failed) say($("filestatus"), t("done", { s: fmt(ev.duration) }));
          }
        }
        function pump() {
          return reader.read().then(function (x) {
            if (x.done) return;
            buf += dec.decode(x.value, { stream: true });
            var i;
            while ((i = buf.indexOf("\n\n")) >= 0) {
              var block = buf.slice(0, i);
              buf = buf.slice(i + 2);
              block.split("\n").forEach(function (line) {
                if (line.indexOf("data: ") === 0) { try { handle(JSON.parse(line.slice(6))); } catch (e) {} }
              });
            }
            return pump();
          });
        }
        return pump();
      })
      .catch(function () { say($("filestatus"), t("e_network"), true); });
  }
  $("file").addEventListener("change", function () {
    var f = $("file").files[0];
    // cleared, so that picking the same file again transcribes it again
    $("file").value = "";
    transcribeFile(f);
  });
  var zone = $("dropzone");
  zone.addEventListener("dragover", function (ev) { ev.preventDefault(); zone.className = "drop over"; });
  zone.addEventListener("dragleave", function () { zone.className = "drop"; });
  zone.addEventListener("drop", function (ev) {
    ev.preventDefault();
    zone.className = "drop";
    if (ev.dataTransfer && ev.dataTransfer.files.length) transcribeFile(ev.dataTransfer.files[0]);
  });

  applyLang();
  say($("livestatus"), t("idle"));
  probe();
})();
`;
