import { describe, expect, it } from 'vitest';
import { commentId, mergeCommentBody, pickState, shouldMove } from '../../src/pipeline/lifecycle.js';

const S = (id: string, name: string, type: string, position: number) => ({ id, name, type, position });
const states = [S('a', 'Backlog', 'backlog', 0), S('b', 'Review', 'started', 5), S('c', 'Doing', 'started', 2), S('d', 'Done', 'completed', 6), S('e', 'Nope', 'canceled', 7)];

describe('the ticket lifecycle rules', () => {
  it('finds the state by type (first by position), or by the configured name (any case) or id', () => {
    expect(pickState(states, 'started', undefined)).toMatchObject({ name: 'Doing' });
    expect(pickState(states, 'completed', undefined)).toMatchObject({ name: 'Done' });
    expect(pickState(states, 'started', 'REVIEW')).toMatchObject({ id: 'b' });
    expect(pickState(states, 'completed', 'e')).toMatchObject({ name: 'Nope' });
    expect(pickState(states, 'started', 'Hacking')).toEqual({ error: expect.stringContaining('no workflow state named "Hacking" (linear.states.started') });
    expect(pickState([states[0]!], 'completed', undefined)).toEqual({ error: 'the team has no workflow state of type completed' });
  });

  it('never moves a ticket back, nor to where it is', () => {
    const [backlog, review, doing, done, canceled] = states as [(typeof states)[0], (typeof states)[0], (typeof states)[0], (typeof states)[0], (typeof states)[0]];
    expect(shouldMove(backlog, doing, 'started')).toBe(true);
    expect(shouldMove(undefined, doing, 'started')).toBe(true);
    expect(shouldMove(doing, doing, 'started')).toBe(false);
    expect(shouldMove(review, doing, 'started')).toBe(false);
    expect(shouldMove(done, doing, 'started')).toBe(false);
    expect(shouldMove(doing, done, 'completed')).toBe(true);
    expect(shouldMove(canceled, done, 'completed')).toBe(false);
  });

  it('a merge comment id is a fixed UUID v4 per ticket and PR', () => {
    const id = commentId('CAB-1', 'https://github.com/a/b/pull/1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(commentId('CAB-1', 'https://github.com/a/b/pull/1')).toBe(id);
    expect(commentId('CAB-2', 'https://github.com/a/b/pull/1')).not.toBe(id);
    expect(commentId('CAB-1', 'https://github.com/a/b/pull/2')).not.toBe(id);
  });

  it('the comment names the PR, the commit and the council report', () => {
    const c = { id: 'x', pr_url: 'https://github.com/a/b/pull/7', pr_number: 7, merge_commit: 'abcdef0123456789' };
    expect(mergeCommentBody({ mega: 'M', phase: '1' }, c, { id: 3, verdict: 'adjust', url: 'https://linear.app/c/3' })).toBe(
      'Merged: [PR #7](https://github.com/a/b/pull/7) (commit `abcdef012345`) — phase M/1.\nCouncil: [report #3](https://linear.app/c/3) — ADJUST.\n\n_factory-mcp_',
    );
    expect(mergeCommentBody({ mega: 'M', phase: '1' }, c, { id: 3, verdict: 'go', url: null })).toContain('Council: report #3 — GO.');
  });
});
