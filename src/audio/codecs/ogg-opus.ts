/**
 * Opus in Ogg (RFC 7845): OpusHead, OpusTags, then audio packets; decoded at 16 kHz
 * with the pre-skip removed and the end trimmed to the last page's granule position.
 */
import { GigasttError } from "../../errors.ts";
import { OggDemuxer } from "./ogg.ts";
import { EMPTY, type Planar, type PcmDecoder, type StreamInfo, Warnings } from "./types.ts";
import { OPUS_RATE, OpusPackets, parseOpusHead } from "./wasm.ts";

export class OggOpusDecoder implements PcmDecoder {
  info: StreamInfo | null = null;
  private readonly ogg = new OggDemuxer();
  private readonly w = new Warnings();
  private opus: OpusPackets | null = null;
  private preSkip = 0;
  private packetNo = 0;
  private out = 0;

  get warnings(): readonly string[] {
    return this.w.list;
  }

  async push(bytes: Uint8Array): Promise<Planar> {
    const packets = this.ogg.push(bytes);
    const audio: Uint8Array[] = [];
    let endGranule = -1;
    for (const p of packets) {
      const n = this.packetNo++;
      if (n === 0) {
        const head = parseOpusHead(p.data);
        if (!head) throw new GigasttError("invalid_audio", "Ogg Opus stream has a broken OpusHead header");
        this.opus = new OpusPackets(head, this.w);
        this.preSkip = head.preSkip;
        this.info = { container: "Ogg", codec: "Opus", sampleRate: OPUS_RATE, channels: head.channels };
        continue;
      }
      if (n === 1) continue; // OpusTags
      audio.push(p.data);
      if (p.last && p.granule >= 0) endGranule = p.granule;
    }
    if (!this.opus || audio.length === 0) return EMPTY;
    let pcm = await this.opus.decode(audio);
    const got = pcm.length ? pcm[0]!.length : 0;
    if (endGranule >= 0 && got > 0) {
      // samples the stream really has, at 16 kHz
      const total = Math.max(0, Math.round(((endGranule - this.preSkip) * OPUS_RATE) / 48000));
      const keep = Math.max(0, Math.min(got, total - this.out));
      if (keep < got) pcm = pcm.map((c) => c.subarray(0, keep));
    }
    this.out += pcm.length ? pcm[0]!.length : 0;
    return pcm;
  }

  async finish(): Promise<Planar> {
    if (this.ogg.damaged > 0) this.w.add(`Ogg: ${this.ogg.damaged} damaged page(s) skipped`);
    return EMPTY;
  }

  free(): void {
    this.opus?.free();
  }
}
