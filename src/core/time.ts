/** Epoch milliseconds as an ISO-8601 string; null stays null. */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The UTC day of epoch milliseconds: `2026-11-29`. */
export function isoDay(ms: number): string {
  return iso(ms).slice(0, 10);
}
