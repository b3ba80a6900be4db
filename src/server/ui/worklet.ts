/**
 * The page's AudioWorklet (served at /ui/worklet.js): the microphone's float
 * samples → PCM16 LE chunks of ~100 ms at the context's rate, posted to the
 * page with their peak level. Kept as a string: it runs in the browser.
 */
export const WORKLET_JS = String.raw`class Pcm16Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.chunk = Math.max(128, Math.round(sampleRate / 10));
    this.buf = new Int16Array(this.chunk);
    this.n = 0;
    this.peak = 0;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    for (let i = 0; i < ch.length; i++) {
      let s = ch[i];
      if (s > 1) s = 1; else if (s < -1) s = -1;
      const a = s < 0 ? -s : s;
      if (a > this.peak) this.peak = a;
      this.buf[this.n++] = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767);
      if (this.n === this.chunk) {
        const out = this.buf.buffer;
        this.port.postMessage({ pcm: out, level: this.peak }, [out]);
        this.buf = new Int16Array(this.chunk);
        this.n = 0;
        this.peak = 0;
      }
    }
    return true;
  }
}
registerProcessor("pcm16-capture", Pcm16Capture);
`;
