/** Lease arithmetic and staleness, with time passed in (tests inject the clock). */

export const DEFAULT_LEASE_SECONDS = 7200;
export const MIN_LEASE_SECONDS = 1;
export const MAX_LEASE_SECONDS = 7 * 24 * 3600;

export function leaseExpiry(nowMs: number, leaseSeconds: number): number {
  return nowMs + leaseSeconds * 1000;
}

/** Whether the owner of a claim is known to be alive: true, false, or unknown (another host, HTTP session). */
export type Liveness = 'alive' | 'dead' | 'unknown';

/**
 * A claim is stale when its lease has passed and its owner is not alive. An owner known to be
 * alive (same host, process still running, session not ended) keeps its claim even past the lease:
 * it may be busy in a long step; the lease alone decides when liveness cannot be known.
 */
export function isStale(leaseExpiresAt: number, nowMs: number, owner: Liveness): boolean {
  if (nowMs < leaseExpiresAt) return false;
  return owner !== 'alive';
}
