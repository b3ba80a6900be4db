/**
 * Which files `transcribe-batch` and `watch` take, and where their
 * transcripts go. As the Rust gigastt: folders are walked recursively in
 * sorted order, symlinked folders are not followed, a file is audio by its
 * extension (case-insensitive), and one `<stem>.<ext>` is written per format.
 * Without an output folder the transcript goes next to its source.
 */
import { type Dirent, readdirSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve, sep } from "node:path";
import { GigasttError } from "../errors.ts";

/** the containers the decoder reads (src/audio/decoder.ts), by their usual extension (= /v1/models `supported_formats`) */
export const AUDIO_EXTENSIONS: readonly string[] = Object.freeze(["wav", "mp3", "flac", "ogg", "opus", "webm", "m4a", "mp4", "aac"]);

export function isAudioFile(path: string): boolean {
  const ext = extname(path);
  // ".wav" alone is a hidden file without an extension (as Rust's Path::extension)
  if (!ext || basename(path) === ext) return false;
  return AUDIO_EXTENSIONS.includes(ext.slice(1).toLowerCase());
}

/** Every audio file under `root`, sorted; folders under `exclude` (the --move-to folder) are skipped. */
export function collectAudioFiles(root: string, exclude: string | null = null): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      throw new GigasttError("usage", `cannot read the folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!(exclude && within(p, exclude))) walk(p);
      } else if ((e.isFile() || (e.isSymbolicLink() && isRegular(p))) && isAudioFile(p)) out.push(p);
    }
  };
  walk(resolve(root));
  return out.sort();
}

function isRegular(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `p` is `dir` or inside it */
export function within(p: string, dir: string): boolean {
  const a = resolve(p);
  const b = resolve(dir);
  return a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);
}

/** `<outputDir or the source's folder>/<stem>.<ext>` */
export function outputPathFor(input: string, outputDir: string | null, ext: string): string {
  const name = basename(input);
  const e = extname(name);
  const stem = e && e !== name ? name.slice(0, -e.length) : name;
  return join(outputDir ?? dirname(input), `${stem}.${ext}`);
}

/** every output exists and was written after the source last changed */
export function upToDate(input: string, outputs: readonly string[]): boolean {
  let src: number;
  try {
    src = statSync(input).mtimeMs;
  } catch {
    return false;
  }
  return outputs.every((o) => {
    try {
      const s = statSync(o);
      return s.isFile() && s.mtimeMs >= src;
    } catch {
      return false;
    }
  });
}
