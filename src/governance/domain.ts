/** Pure governance rules: the day the cost cap counts in, the kill switch's values. */

/** Start of the UTC day holding `now` (the cost cap counts per UTC day). */
export function utcDayStart(now: number): number {
  return now - (((now % 86_400_000) + 86_400_000) % 86_400_000);
}

/** Whether a GitHub variable's value turns the kill switch on. */
export function truthy(v: string | undefined | null): boolean {
  return v !== undefined && v !== null && /^(1|true|yes|on|kill|stop)$/i.test(v.trim());
}

/** The kill file every server obeys, whatever `governance.kill_switch_file` says (a config may add one, not retire this). */
export const DEFAULT_KILL_FILE = '.factory/KILL';
