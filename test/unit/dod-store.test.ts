import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeTx } from '../../src/core/db.js';
import { Store } from '../../src/core/store.js';
import { tempDir } from '../helpers/server.js';

describe('DodStore', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = tempDir('factory-dod-store-');
    store = await Store.open(path.join(dir, 'f.db'), { leaseSeconds: 60 });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const key = { tree: 't1', config: 'c1', base: 'b1', component: 'app', check: 'lint' };
  const run = (passed: boolean, mega = 'M', phase = '1') => ({
    instance: 't1234',
    mega,
    phase,
    tree: 't1',
    base: 'b1',
    passed,
    partial: false,
    score: passed ? '10/10' : '9/10',
    cached: false,
    checks: [],
  });
  const DAY = 24 * 3600 * 1000;

  it('keeps the last run per phase and logs each as a dod operation', async () => {
    await writeTx(store.sql, async () => {
      await store.dod.record(1000, run(false));
      await store.dod.record(2000, run(true));
      await store.dod.record(3000, run(false, 'M', '2'));
    });
    expect(await store.dod.last('M', '1')).toMatchObject({ passed: true, score: '10/10', ts: 2000 });
    expect((await store.dod.latestPerPhase()).map((r) => [r.phase, r.passed])).toEqual([
      ['1', true],
      ['2', false],
    ]);
    expect((await store.operations.recent(10)).map((o) => o.message)).toEqual(['DoD 9/10 failed for M/1', 'DoD 10/10 passed for M/1', 'DoD 9/10 failed for M/2']);
  });

  it('caches by tree, config, base, component and check, and prunes entries older than two weeks', async () => {
    await writeTx(store.sql, () => store.dod.putCache(key, { status: 'pass', detail: 'ok', duration_ms: 5 }, 0));
    expect(await store.dod.cached(key)).toEqual({ status: 'pass', detail: 'ok', duration_ms: 5 });
    expect(await store.dod.cached({ ...key, tree: 't2' })).toBeUndefined();
    await writeTx(store.sql, () => store.dod.putBaseline('b1', 'c1', 'app', { passed_tests: ['a'], warnings: null }, 0));
    expect(await store.dod.baseline('b1', 'c1', 'app')).toEqual({ passed_tests: ['a'], warnings: null });
    await writeTx(store.sql, () => store.dod.record(15 * DAY, run(true)));
    expect(await store.dod.cached(key)).toBeUndefined();
    expect(await store.dod.baseline('b1', 'c1', 'app')).toBeUndefined();
  });
});
