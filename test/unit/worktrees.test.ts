import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { branchName, keepReason, logCommits, slug, statusPaths, worktreeDirName } from '../../src/pipeline/worktrees-domain.js';

const validRef = (b: string) => {
  execFileSync('git', ['check-ref-format', `refs/heads/${b}`]);
  return true;
};

describe('worktree names (pure)', () => {
  it('slugs are lowercase [a-z0-9-], bounded, never start or end with "-"', () => {
    expect(slug('Add Login Form')).toBe('add-login-form');
    expect(slug('  ../..//~^:?*[\\ @{ x.lock ')).toBe('x-lock');
    expect(slug('--force')).toBe('force');
    expect(slug('Crème brûlée ✓')).toBe('creme-brulee');
    expect(slug('a'.repeat(100))).toHaveLength(40);
    expect(slug(`${'a'.repeat(39)}-b`)).toBe('a'.repeat(39));
    expect(slug('日本語')).toBe('');
  });

  it('branch names are valid refs whatever the MEGA, phase id and name hold, and map to a directory name without path steps', () => {
    const cases: [string, string, string][] = [
      ['CAB-1290', '1', 'Add login'],
      ['A..B', '../../etc', '-rf /'],
      ['x', '-', '日本語'],
      ['m.lock', 'HEAD@{1}', 'name.'],
    ];
    for (const [m, p, n] of cases) {
      const b = branchName(m, p, n);
      expect(b).toMatch(/^factory\/[a-z0-9][a-z0-9-]*$/);
      expect(validRef(b)).toBe(true);
      expect(worktreeDirName(b)).not.toMatch(/[./]/);
    }
    expect(branchName('CAB-1290', '1', 'Add login')).toBe('factory/cab-1290-1-add-login');
    expect(branchName('x', '-', '日本語')).toBe('factory/x-phase');
    expect(branchName('CAB-1', '2', 'x', 3)).toBe('factory/cab-1-2-x-3');
    expect(() => worktreeDirName('factory/../x')).toThrow(/not a factory branch/);
    expect(() => worktreeDirName('main')).toThrow(/not a factory branch/);
  });
});

describe('whether clean-up may delete (pure)', () => {
  const none = { claimedBy: null, dirty: [], unpushed: [], moreUnpushed: false };
  it('deletes only when unclaimed, clean and every commit pushed or merged', () => {
    expect(keepReason(none)).toBeNull();
    expect(keepReason({ ...none, claimedBy: 't1' })).toBe('its phase is claimed by t1');
    expect(keepReason({ ...none, dirty: ['a', 'b'] })).toBe('uncommitted changes in 2 files (a, b)');
    expect(keepReason({ ...none, unpushed: [{ sha: 'abc1234', subject: 'Fix' }] })).toBe('1 commit neither pushed nor merged (abc1234 Fix)');
    const many = Array.from({ length: 7 }, (_, i) => ({ sha: `s${i}`, subject: `c${i}` }));
    expect(keepReason({ ...none, unpushed: many, moreUnpushed: true })).toBe('more than 7 commits neither pushed nor merged (s0 c0, s1 c1, s2 c2, s3 c3, s4 c4, …)');
    expect(keepReason({ ...none, dirty: ['x'], unpushed: [{ sha: 'a', subject: 'b' }] })).toBe('uncommitted changes in 1 file (x); 1 commit neither pushed nor merged (a b)');
  });

  it('parses git status -z (renames name their target) and git log with NUL separators', () => {
    expect(statusPaths(' M src/a.ts\0?? new file.txt\0R  to.ts\0from.ts\0')).toEqual(['src/a.ts', 'new file.txt', 'to.ts']);
    expect(statusPaths('')).toEqual([]);
    expect(logCommits('abc1234\0Subject; with: anything\0\ndef5678\0Second\0\n')).toEqual([
      { sha: 'abc1234', subject: 'Subject; with: anything' },
      { sha: 'def5678', subject: 'Second' },
    ]);
  });
});
