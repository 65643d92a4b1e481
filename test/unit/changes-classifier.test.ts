import { describe, expect, it } from 'vitest';
import {
  sizeTier,
  binaryVerdict,
  dependencyChange,
  expectedLevel,
  featureDenied,
  isRenameOnly,
  isWhitespaceOnly,
  sameIgnoringWhitespace,
  skippedNotes,
  symlinkNote,
  unmoved,
  winningLevel,
} from '../../src/changes/classifier.js';
import { INTENTS, type ChangedFile } from '../../src/changes/rules.js';

/** The named decisions of the classifier, each on its own (test/unit/changes.test.ts classifies whole changes). */
const file = (extra: Partial<ChangedFile> = {}): ChangedFile => ({ path: 'src/a.ts', status: 'modified', additions: 0, deletions: 0, binary: false, symlink: false, ...extra });

describe('sizeTier: the PR size tier of a count of changed lines', () => {
  it('under s, under m, up to max, over max — each boundary on both sides', () => {
    const t = (n: number) => sizeTier(n, { s: 50, m: 150 }, 300);
    expect([0, 49, 50, 149, 150, 299, 300, 301, 10_000].map(t)).toEqual(['s', 's', 'm', 'm', 'l', 'l', 'l', 'xl', 'xl']);
    expect(sizeTier(150, { s: 50, m: 150 }, 150)).toBe('l');
    expect(sizeTier(151, { s: 50, m: 150 }, 150)).toBe('xl');
    expect(sizeTier(120, { s: 50, m: 150 }, 100)).toBe('xl'); // max_lines below the tiers still wins
  });
});

describe('winningLevel: which rule wins', () => {
  it('is the highest level any fired rule reached, ship when none fired', () => {
    expect(winningLevel([])).toBe('ship');
    expect(winningLevel([{ level: 'ship' }, { level: 'show' }, { level: 'ship' }])).toBe('show');
    expect(winningLevel([{ level: 'ask' }, { level: 'show' }])).toBe('ask');
    expect(winningLevel(new Map([['docs', { level: 'ship' as const }]]).values())).toBe('ship');
  });
});

describe('symlinkNote: whether a file is or was a symlink', () => {
  it('says which, and nothing for a plain file', () => {
    expect(symlinkNote(file())).toBeNull();
    expect(symlinkNote(file({ path: 'current', symlink: true, status: 'added' }))).toBe('current is a symlink');
    expect(symlinkNote(file({ path: 'current', was_symlink: true }))).toBe('current was a symlink');
    expect(symlinkNote(file({ path: 'link', was_symlink: true, status: 'deleted' }))).toBe('link removed');
    expect(symlinkNote(file({ path: 'link', symlink: true, was_symlink: true }))).toBe('link is a symlink');
  });
});

describe('isRenameOnly', () => {
  it('a rename or copy without a changed line; not a modification, not a rename with edits', () => {
    expect(isRenameOnly(file({ status: 'renamed', old_path: 'src/b.ts' }))).toBe(true);
    expect(isRenameOnly(file({ status: 'copied', old_path: 'src/b.ts' }))).toBe(true);
    expect(isRenameOnly(file({ status: 'renamed', old_path: 'src/b.ts', additions: 1 }))).toBe(false);
    expect(isRenameOnly(file({ status: 'renamed', old_path: 'src/b.ts', deletions: 1 }))).toBe(false);
    expect(isRenameOnly(file())).toBe(false);
  });
});

describe('isWhitespaceOnly', () => {
  const ws = (added: string[], removed: string[], extra: Partial<ChangedFile> = {}) => isWhitespaceOnly(file({ added, removed, additions: added.length, deletions: removed.length, ...extra }));
  it('needs every changed line, on both sides, and the same text once whitespace is ignored', () => {
    expect(ws(['const x =  1;', ''], ['const x = 1;'])).toBe(true);
    expect(ws(['\tif (a) {', '\t\tb();', '\t}'], ['if (a) { b(); }'])).toBe(true);
    expect(ws(['const x = 2;'], ['const x = 1;'])).toBe(false);
    expect(ws([], [])).toBe(false);
    expect(isWhitespaceOnly(file({ additions: 1, deletions: 1 }))).toBe(false); // lines unknown (a file list)
    expect(isWhitespaceOnly(file({ added: ['a'], additions: 1, deletions: 1 }))).toBe(false);
  });
  it('a parser that kept only the first lines of a huge file does not make it whitespace-only', () => {
    expect(ws(['const x =  1;'], ['const x = 1;'], { additions: 5000 })).toBe(false);
    expect(ws(['const x =  1;'], ['const x = 1;'], { deletions: 5000 })).toBe(false);
  });
});

describe('sameIgnoringWhitespace', () => {
  it('ignores spaces, tabs, CR, form feed, vertical tab, NBSP and BOM, and line breaks', () => {
    expect(sameIgnoringWhitespace(['a b'], ['ab'])).toBe(true);
    expect(sameIgnoringWhitespace(['a', 'b'], ['ab'])).toBe(true);
    expect(sameIgnoringWhitespace(['\ufeff a\t\r\f\v\u00a0b '], ['ab'])).toBe(true);
    expect(sameIgnoringWhitespace(['', '   '], [])).toBe(true);
  });
  it('a different or missing character is a difference', () => {
    expect(sameIgnoringWhitespace(['ab'], ['abc'])).toBe(false);
    expect(sameIgnoringWhitespace(['abc'], ['ab'])).toBe(false);
    expect(sameIgnoringWhitespace(['a'], [])).toBe(false);
    expect(sameIgnoringWhitespace(['a\u200bb'], ['ab'])).toBe(false); // a zero-width space is not whitespace here
  });
});

describe('binaryVerdict: unread content or a harmless binary', () => {
  it('content rules that would have read it make it content_skipped, whatever else covered it', () => {
    expect(binaryVerdict(['eval', 'raw_sql'], false)).toBe('content_skipped');
    expect(binaryVerdict(['eval'], true)).toBe('content_skipped');
  });
  it('otherwise binary, unless a path rule already covered it', () => {
    expect(binaryVerdict([], false)).toBe('binary');
    expect(binaryVerdict([], true)).toBeNull();
  });
});

describe('skippedNotes: whether content was skipped', () => {
  const limits = { maxLineLength: 4096, maxContentLength: 1000 };
  it('nothing when all was read', () => {
    expect(skippedNotes('a.ts', { long: 0, over: 0 }, limits)).toEqual([]);
  });
  it('one note per cause, long lines first, singular and plural', () => {
    expect(skippedNotes('a.ts', { long: 1, over: 0 }, limits)).toEqual(['a.ts: 1 line over 4096 characters not inspected']);
    expect(skippedNotes('a.ts', { long: 2, over: 3 }, limits)).toEqual(['a.ts: 2 lines over 4096 characters not inspected', 'a.ts: 3 lines past the 1000-character content limit not inspected']);
    expect(skippedNotes('a.ts', { long: 0, over: 1 }, limits)).toEqual(['a.ts: 1 line past the 1000-character content limit not inspected']);
  });
});

describe('unmoved: whether a line is new to the change', () => {
  it('a line whose trimmed text is on the other side was moved; blank lines are never new', () => {
    const isNew = unmoved(new Set(['export function f() {}']));
    expect(isNew('  export function f() {}  ')).toBe(false);
    expect(isNew('export function g() {}')).toBe(true);
    expect(isNew('   ')).toBe(false);
    expect(isNew('')).toBe(false);
  });
});

describe('dependencyChange: what changed in a manifest, and whether its lockfile is needed', () => {
  const set = (...names: string[]) => new Set(names);
  it('names on both sides are bumped, only added are fresh, only removed are dropped', () => {
    expect(dependencyChange(set('zod', 'left-pad'), set('zod', 'lodash'), true, false)).toEqual({ bumped: ['zod'], fresh: ['left-pad'], dropped: ['lodash'], lock: 'dependency_bump' });
  });
  it('a bump is dependency_bump when locked, lockfile_missing when not', () => {
    expect(dependencyChange(set('zod'), set('zod'), true, false).lock).toBe('dependency_bump');
    expect(dependencyChange(set('zod'), set('zod'), false, false).lock).toBe('lockfile_missing');
  });
  it('a manifest whose lines are unknown (a file list) counts as a bump', () => {
    expect(dependencyChange(set(), set(), true, true)).toEqual({ bumped: [], fresh: [], dropped: [], lock: 'dependency_bump' });
    expect(dependencyChange(set(), set(), false, true).lock).toBe('lockfile_missing');
  });
  it('a new dependency alone needs the lockfile too; a dropped one or nothing does not', () => {
    expect(dependencyChange(set('left-pad'), set(), false, false).lock).toBe('lockfile_missing');
    expect(dependencyChange(set('left-pad'), set(), true, false).lock).toBeNull();
    expect(dependencyChange(set(), set('lodash'), false, false).lock).toBeNull();
    expect(dependencyChange(set(), set(), false, false)).toEqual({ bumped: [], fresh: [], dropped: [], lock: null });
  });
});

describe('expectedLevel: what a stated intent suggests', () => {
  it('feature → ask; docs, config, deps → ship; the rest → show', () => {
    expect(Object.fromEntries(INTENTS.map((i) => [i, expectedLevel(i)]))).toEqual({
      feature: 'ask',
      fix: 'show',
      refactor: 'show',
      test: 'show',
      docs: 'ship',
      config: 'ship',
      deps: 'ship',
      style: 'show',
    });
  });
});

describe('featureDenied: whether the diff contradicts an intent that claims no feature', () => {
  it('refactor and style deny new exported API and new source files; it says which (three at most each)', () => {
    expect(featureDenied('refactor', ['src/a.ts'], [])).toBe('adds exported API (src/a.ts)');
    expect(featureDenied('style', [], ['src/n.ts'])).toBe('adds source files (src/n.ts)');
    expect(featureDenied('refactor', ['a', 'b', 'c', 'd'], ['n'])).toBe('adds exported API (a, b, c) and adds source files (n)');
  });
  it('nothing to deny, or an intent that does not claim it: null', () => {
    expect(featureDenied('refactor', [], [])).toBeNull();
    for (const intent of INTENTS.filter((i) => i !== 'refactor' && i !== 'style')) expect(featureDenied(intent, ['src/a.ts'], ['src/n.ts'])).toBeNull();
  });
});
