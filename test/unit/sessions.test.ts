import { describe, expect, it } from 'vitest';
import { interruption, renderMemoryMarkdown, sessionStatus } from '../../src/sessions/domain.js';
import { truthy, utcDayStart } from '../../src/governance/domain.js';
import { renderPlanMarkdown } from '../../src/phases/render.js';
import { parseStamp } from '../../src/transfer/import.js';
import { operationLine } from '../../src/core/oplog.js';
import { changedUris } from '../../src/mcp/subscriptions.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const open = { ended_at: null, disconnected_at: null, last_seen_at: NOW - 1000 };

describe('interruption', () => {
  it('an ended session is never interrupted', () => {
    expect(interruption({ ...open, ended_at: NOW - 5 }, 'dead', NOW, 7200_000, null)).toBeNull();
  });
  it('a disconnected client or a dead process is interrupted at once, even within its lease', () => {
    expect(interruption({ ...open, disconnected_at: NOW - 5 }, 'unknown', NOW, 7200_000, NOW + 1000)).toBe('disconnected');
    expect(interruption(open, 'dead', NOW, 7200_000, NOW + 1000)).toBe('process_gone');
  });
  it('a live process is not interrupted, even past its lease', () => {
    expect(interruption(open, 'alive', NOW, 1, NOW - 1)).toBeNull();
  });
  it('with unknown liveness, the latest claim lease decides, else last_seen + the default lease', () => {
    expect(interruption(open, 'unknown', NOW, 7200_000, NOW + 1)).toBeNull();
    expect(interruption(open, 'unknown', NOW, 7200_000, NOW)).toBe('lease_passed');
    expect(interruption(open, 'unknown', NOW, 500, null)).toBe('lease_passed');
    expect(interruption(open, 'unknown', NOW, 5000, null)).toBeNull();
  });
});

describe('sessionStatus', () => {
  const row = { ended_at: null, disconnected_at: null, adopted_by: null };
  it('adopted wins; an ended session is parked while it keeps claims, else ended', () => {
    expect(sessionStatus({ ...row, ended_at: NOW, adopted_by: 't2' }, 'dead', 1)).toBe('adopted');
    expect(sessionStatus({ ...row, ended_at: NOW }, 'dead', 2)).toBe('parked');
    expect(sessionStatus({ ...row, ended_at: NOW }, 'dead', 0)).toBe('ended');
  });
  it('an unfinished session is interrupted once disconnected or its process is dead, else live', () => {
    expect(sessionStatus({ ...row, disconnected_at: NOW }, 'alive', 1)).toBe('interrupted');
    expect(sessionStatus(row, 'dead', 0)).toBe('interrupted');
    expect(sessionStatus(row, 'unknown', 3)).toBe('live');
    expect(sessionStatus(row, 'alive', 0)).toBe('live');
  });
});

describe('renderers and parsing', () => {
  it('memory.md has every section, entries with author and time', () => {
    const md = renderMemoryMarkdown([{ section: 'decisions', text: 'WAL\nalways', author: 'a (t1234)', at: '2026-11-25T12:00:00.000Z' }]);
    expect(md).toContain('## Status\n\n_(none)_');
    expect(md).toContain('## Decisions\n\n- WAL\n  always — a (t1234), 2026-11-25T12:00:00.000Z');
    expect(md).toContain('## Known issues');
  });
  it('plan.md escapes pipes and shows progress', () => {
    const md = renderPlanMarkdown([
      {
        key: 'K',
        title: 'T',
        source: null,
        done: 0,
        total: 1,
        phases: [{ id: 1, name: 'a|b', points: 2, tickets: ['X-1'], deps: [], status: 'claimed', owner: 't1', completed_by: null, checkpoint: { percent: 10, next: ['c'] } }],
      },
    ]);
    expect(md).toContain('| 1 | a\\|b | 2 | X-1 |  | claimed | t1 | 10% next: c |');
  });
  it('operations.log lines carry seq, time, instance, kind and scope', () => {
    expect(operationLine({ seq: 7, ts: NOW, instance: 't1', kind: 'claim', mega: 'K', phase: '2', message: 'x\ny' })).toBe('#7 2026-11-25T12:00:00.000Z t1 claim K/2 x y');
    expect(operationLine({ seq: 1, ts: NOW, instance: null, kind: 'note', mega: null, phase: null, message: 'm' })).toBe('#1 2026-11-25T12:00:00.000Z - note - m');
  });
  it('claim-file times: ISO, seconds, milliseconds, nothing, garbage', () => {
    expect(parseStamp('2026-11-25T12:00:00Z')).toBe(NOW);
    expect(parseStamp(NOW / 1000)).toBe(NOW);
    expect(parseStamp(NOW)).toBe(NOW);
    expect(parseStamp(null)).toBeNull();
    expect(parseStamp('soon')).toBeNaN();
  });
  it('the cost day starts at UTC midnight; kill-switch values', () => {
    expect(utcDayStart(NOW)).toBe(Date.UTC(2026, 10, 25));
    expect(['1', 'true', 'ON', ' yes '].every(truthy)).toBe(true);
    expect(['0', 'false', '', 'no'].some(truthy)).toBe(false);
    expect(truthy(undefined)).toBe(false);
  });
});

describe('changedUris', () => {
  const subs = ['factory://board', 'factory://plan', 'factory://memory', 'factory://operations', 'factory://mega/K-1', 'factory://mega/K-2'];
  it('maps new operations to the subscribed resources they change', () => {
    expect(changedUris([{ kind: 'memory', mega: null }], subs)).toEqual(['factory://memory', 'factory://operations']);
    expect(changedUris([{ kind: 'claim', mega: 'K-1' }], subs)).toEqual(['factory://board', 'factory://plan', 'factory://operations', 'factory://mega/K-1']);
    expect(changedUris([{ kind: 'note', mega: null }], subs)).toEqual(['factory://operations']);
    expect(changedUris([], subs)).toEqual([]);
  });
});
