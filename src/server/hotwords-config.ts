/**
 * The serve flags of hotword biasing (the Rust names): `--hotwords-file FILE`
 * (GIGASTT_HOTWORDS_FILE; one phrase a line, optional `<TAB>weight`, `#` comments),
 * `--hotwords-default` (GIGASTT_HOTWORDS_DEFAULT; adds the built-in brand list) and
 * `--hotwords-boost N` (GIGASTT_HOTWORDS_BOOST; default 5, 0..20). The list becomes the
 * default of every decode that names none (a request's `hotwords` replaces it, an empty
 * `hotwords=` turns it off). Errors exit 2 naming the flag, env var or file line.
 */
import { readFileSync } from "node:fs";
import { bootList, DEFAULT_HOTWORDS_BOOST, type HotwordList, parseBoost, parseHotwordsFile } from "../decode/hotwords.ts";
import { GigasttError, isGigasttError } from "../errors.ts";

export type { HotwordList };

interface Sourced {
  readonly value: string;
  readonly from: string;
}

export function parseHotwordsConfig(
  o: { file: Sourced | undefined; withDefaults: boolean; boost: Sourced | undefined },
  readFile: ((path: string) => string) | undefined,
  warnings: string[],
): HotwordList | null {
  let boost = DEFAULT_HOTWORDS_BOOST;
  if (o.boost) {
    try {
      boost = parseBoost(o.boost.value, o.boost.from);
    } catch (e) {
      throw new GigasttError("usage", isGigasttError(e) ? `invalid value '${o.boost.value}' for '${o.boost.from}': ${e.message}` : String(e));
    }
  }
  const path = o.file?.value.trim();
  if (o.file && !path) throw new GigasttError("usage", `flag '${o.file.from}' needs a file path`);
  let text = "";
  if (path) {
    try {
      text = (readFile ?? ((p) => readFileSync(p, "utf8")))(path);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException)?.code === "ENOENT" ? "no such file" : ((e as Error)?.message ?? String(e));
      throw new GigasttError("invalid_config", `cannot read hotwords file '${path}' (${o.file!.from}): ${why}`, { cause: e });
    }
  }
  const phrases = path ? parseHotwordsFile(text, path) : [];
  if (path && phrases.length === 0) warnings.push(`hotwords file '${path}' holds no phrase: biasing stays off`);
  if (o.boost && !path && !o.withDefaults) warnings.push(`${o.boost.from} has no effect without --hotwords-file or --hotwords-default (a request's hotwords use its own hotwords_boost, default ${DEFAULT_HOTWORDS_BOOST})`);
  return bootList(phrases, o.withDefaults, boost);
}
