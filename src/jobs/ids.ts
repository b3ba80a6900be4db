/**
 * Job ids: 128 random bits (crypto.getRandomValues) as 32 lower-case hex
 * digits, so an id can neither be guessed nor enumerated.
 */

const ID_RE = /^[0-9a-f]{32}$/;

export function newJobId(random: (b: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const bytes = random(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** true for a well-formed id (anything else is `job_not_found` without touching the store) */
export function isJobId(s: string): boolean {
  return ID_RE.test(s);
}
