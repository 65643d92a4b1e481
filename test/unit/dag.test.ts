import { describe, expect, it } from 'vitest';
import { describePlanProblem, findCycle, findPlanProblem, readyPhases, unmetDeps } from '../../src/phases/dag.js';
import { instanceId, phaseKey } from '../../src/core/ids.js';

describe('plan validation', () => {
  it('accepts a valid DAG with mixed id types', () => {
    expect(
      findPlanProblem([
        { id: 1, deps: [] },
        { id: 'ui', deps: [1] },
        { id: 3, deps: ['ui', 1] },
      ]),
    ).toBeNull();
  });

  it('treats 1 and "1" as the same id', () => {
    const p = findPlanProblem([
      { id: 1, deps: [] },
      { id: '1', deps: [] },
    ]);
    expect(p).toMatchObject({ kind: 'duplicate_id', field: 'phases[1].id', id: '1' });
  });

  it('names an unknown dependency with its path', () => {
    const p = findPlanProblem([
      { id: 1, deps: [] },
      { id: 2, deps: [1, 7] },
    ]);
    expect(p).toMatchObject({ kind: 'unknown_dep', field: 'phases[1].deps[1]', dep: '7' });
    expect(describePlanProblem(p!)).toBe('phase "2" depends on unknown phase "7"');
  });

  it('rejects a self dependency', () => {
    expect(findPlanProblem([{ id: 'a', deps: ['a'] }])).toMatchObject({ kind: 'self_dep', field: 'phases[0].deps[0]' });
  });

  it('finds a cycle and returns it as a closed path', () => {
    const p = findPlanProblem([
      { id: 1, deps: [] },
      { id: 2, deps: [4] },
      { id: 3, deps: [2] },
      { id: 4, deps: [3] },
    ]);
    expect(p?.kind).toBe('cycle');
    const cycle = (p as { cycle: string[] }).cycle;
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    expect(new Set(cycle)).toEqual(new Set(['2', '3', '4']));
  });

  it('handles a 10,000-long chain without recursion limits', () => {
    const nodes = Array.from({ length: 10_000 }, (_, i) => ({ id: String(i), deps: i === 0 ? [] : [String(i - 1)] }));
    expect(findCycle(nodes)).toBeNull();
    nodes[0] = { id: '0', deps: ['9999'] };
    expect(findCycle(nodes)?.length).toBe(10_001);
  });
});

describe('ready set', () => {
  const phases = [
    { id: '1', deps: [], done: true, claimed: false },
    { id: '2', deps: [], done: false, claimed: true },
    { id: '3', deps: ['1'], done: false, claimed: false },
    { id: '4', deps: ['1', '2'], done: false, claimed: false },
    { id: '5', deps: [], done: false, claimed: false },
  ];
  it('is the open phases whose deps are all done, in order', () => {
    expect(readyPhases(phases)).toEqual(['3', '5']);
  });
  it('names the unmet deps', () => {
    expect(unmetDeps(phases[3]!, phases)).toEqual(['2']);
  });
});

describe('ids', () => {
  it('canonicalises phase ids as text', () => {
    expect(phaseKey(12)).toBe('12');
    expect(phaseKey(' api ')).toBe('api');
  });
  it('makes t-prefixed instance ids of the asked width', () => {
    expect(instanceId(() => 0)).toBe('t1000');
    expect(instanceId(() => 0.9999999)).toBe('t9999');
    expect(instanceId(() => 0.5, 5)).toMatch(/^t\d{5}$/);
  });
});
