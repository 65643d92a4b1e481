import { describe, expect, it } from 'vitest';
import { isStale, leaseExpiry } from '../../src/phases/lease.js';

describe('leases', () => {
  const t0 = Date.UTC(2026, 0, 1);
  it('expires lease_seconds after the claim', () => {
    expect(leaseExpiry(t0, 7200)).toBe(t0 + 7_200_000);
  });
  it('is never stale before the lease ends, whatever the owner', () => {
    for (const owner of ['alive', 'dead', 'unknown'] as const) expect(isStale(t0 + 1000, t0 + 999, owner)).toBe(false);
  });
  it('after the lease, is stale unless the owner is known to be alive', () => {
    expect(isStale(t0, t0, 'dead')).toBe(true);
    expect(isStale(t0, t0 + 1, 'unknown')).toBe(true);
    expect(isStale(t0, t0 + 1, 'alive')).toBe(false);
  });
});
