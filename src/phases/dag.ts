import { phaseKey, type PhaseId } from '../core/ids.js';

export interface PlannedPhase {
  id: PhaseId;
  deps: PhaseId[];
}

export type PlanProblem =
  | { kind: 'duplicate_id'; field: string; id: string }
  | { kind: 'unknown_dep'; field: string; id: string; dep: string }
  | { kind: 'self_dep'; field: string; id: string }
  | { kind: 'cycle'; field: string; cycle: string[] };

/**
 * Checks a plan's phase graph: ids unique (by canonical form), deps known, no cycles.
 * Returns the first problem found, with the input path that caused it, or null.
 */
export function findPlanProblem(phases: readonly PlannedPhase[]): PlanProblem | null {
  const index = new Map<string, number>();
  for (const [i, p] of phases.entries()) {
    const key = phaseKey(p.id);
    if (index.has(key)) return { kind: 'duplicate_id', field: `phases[${i}].id`, id: key };
    index.set(key, i);
  }
  for (const [i, p] of phases.entries()) {
    const key = phaseKey(p.id);
    for (const [j, d] of p.deps.entries()) {
      const dk = phaseKey(d);
      if (dk === key) return { kind: 'self_dep', field: `phases[${i}].deps[${j}]`, id: key };
      if (!index.has(dk)) return { kind: 'unknown_dep', field: `phases[${i}].deps[${j}]`, id: key, dep: dk };
    }
  }
  const cycle = findCycle(phases.map((p) => ({ id: phaseKey(p.id), deps: p.deps.map(phaseKey) })));
  if (cycle) {
    const first = cycle[0] as string;
    return { kind: 'cycle', field: `phases[${index.get(first)}].deps`, cycle };
  }
  return null;
}

export function describePlanProblem(p: PlanProblem): string {
  switch (p.kind) {
    case 'duplicate_id':
      return `duplicate phase id ${JSON.stringify(p.id)} (ids are compared as text, so 1 and "1" are the same)`;
    case 'unknown_dep':
      return `phase ${JSON.stringify(p.id)} depends on unknown phase ${JSON.stringify(p.dep)}`;
    case 'self_dep':
      return `phase ${JSON.stringify(p.id)} depends on itself`;
    case 'cycle':
      return `dependency cycle: ${p.cycle.map((c) => JSON.stringify(c)).join(' -> ')}`;
  }
}

/** Iterative DFS (no recursion limit on deep chains); returns one cycle as a closed path. */
export function findCycle(nodes: readonly { id: string; deps: readonly string[] }[]): string[] | null {
  const deps = new Map(nodes.map((n) => [n.id, n.deps] as const));
  const state = new Map<string, 1 | 2>(); // 1 = on stack, 2 = done
  for (const start of deps.keys()) {
    if (state.has(start)) continue;
    const stack: { id: string; next: number }[] = [{ id: start, next: 0 }];
    state.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { id: string; next: number };
      const ds = deps.get(top.id) ?? [];
      if (top.next >= ds.length) {
        state.set(top.id, 2);
        stack.pop();
        continue;
      }
      const d = ds[top.next++] as string;
      const s = state.get(d);
      if (s === 1) {
        const from = stack.findIndex((f) => f.id === d);
        return [...stack.slice(from).map((f) => f.id), d];
      }
      if (s === undefined && deps.has(d)) {
        state.set(d, 1);
        stack.push({ id: d, next: 0 });
      }
    }
  }
  return null;
}

export interface PhaseState {
  id: string;
  deps: readonly string[];
  done: boolean;
  claimed: boolean;
}

/** Phases that can be claimed now: open, and every dependency done. Order is preserved. */
export function readyPhases(phases: readonly PhaseState[]): string[] {
  const done = new Set(phases.filter((p) => p.done).map((p) => p.id));
  return phases.filter((p) => !p.done && !p.claimed && p.deps.every((d) => done.has(d))).map((p) => p.id);
}

/** Dependencies of one phase that are not done yet. */
export function unmetDeps(phase: PhaseState, all: readonly PhaseState[]): string[] {
  const done = new Set(all.filter((p) => p.done).map((p) => p.id));
  return phase.deps.filter((d) => !done.has(d));
}
