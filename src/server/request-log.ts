/**
 * A child logger whose every line carries fixed fields (e.g. `request_id`):
 * the fields are merged into the line's field object, so the JSON reporter
 * prints them as top-level keys and the pretty one shows them inline.
 */
import type { ConsolaInstance, ConsolaReporter, LogObject } from "consola";

export function withFields(base: ConsolaInstance, fields: Readonly<Record<string, unknown>>): ConsolaInstance {
  const reporters: ConsolaReporter[] = base.options.reporters.map((r) => ({
    log(obj: LogObject, ctx: Parameters<ConsolaReporter["log"]>[1]) {
      const [first, ...rest] = obj.args;
      const extra = rest.length === 1 && typeof rest[0] === "object" && rest[0] !== null && !Array.isArray(rest[0]) ? (rest[0] as Record<string, unknown>) : rest.length ? { args: rest } : {};
      r.log({ ...obj, args: [first, { ...fields, ...extra }] }, ctx);
    },
  }));
  return base.create({ reporters });
}
