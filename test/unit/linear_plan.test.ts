import { describe, expect, it } from 'vitest';
import { planFromLinear, renderMegaChecklist, type LinearChild } from '../../src/phases/linear-plan.js';

const child = (uuid: string, identifier: string, o: Partial<LinearChild> = {}): LinearChild => ({
  uuid,
  identifier,
  title: `T ${identifier}`,
  estimate: null,
  state_type: 'unstarted',
  state_name: 'Todo',
  relations: [],
  ...o,
});

describe('planFromLinear', () => {
  it('turns blocks and blocked_by between children into deps; ignores other relation types and outside issues', () => {
    const plan = planFromLinear({
      uuid: 'm',
      identifier: 'X-1',
      title: 'Mega',
      url: 'https://linear.app/x/issue/X-1',
      children: [
        child('a', 'X-2', {
          estimate: 3,
          state_type: 'completed',
          relations: [
            { type: 'blocks', related: 'b' },
            { type: 'duplicate', related: 'c' },
          ],
        }),
        child('b', 'X-3', {
          relations: [
            { type: 'blocked_by', related: 'c' },
            { type: 'blocked_by', related: 'outside' },
          ],
        }),
        child('c', 'X-4', { state_type: 'canceled' }),
      ],
    });
    expect(plan.phases).toEqual([
      { id: 'X-2', name: 'T X-2', points: 3, tickets: ['X-2'], deps: [] },
      { id: 'X-3', name: 'T X-3', tickets: ['X-3'], deps: ['X-2', 'X-4'] },
      { id: 'X-4', name: 'T X-4', tickets: ['X-4'], deps: [] },
    ]);
    expect(plan.done).toEqual(['X-2', 'X-4']);
    expect(plan.external_blockers).toEqual([{ phase: 'X-3', issue: 'outside' }]);
  });

  it('renders the MEGA as a checklist', () => {
    const md = renderMegaChecklist({
      key: 'X-1',
      title: 'Mega',
      source: null,
      phases: [
        { id: 1, name: 'One', points: 2, status: 'done', owner: null, deps: [] },
        { id: 2, name: 'Two', points: 3, status: 'claimed', owner: 't1234', deps: [1] },
      ],
    });
    expect(md).toBe('# X-1: Mega\n\n1/2 phases done · 2/5 points\n\n- [x] **1** One — 2 pts\n- [ ] **2** Two — 3 pts · after 1 · claimed by t1234\n');
  });
});
