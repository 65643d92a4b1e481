import { describe, expect, it } from 'vitest';
import { globToRegExp } from '../../src/core/glob.js';
import { MAX_GLOB_ATOMS, MAX_PRODUCT_STATES, globAtoms, namesDirectory, normalizeReservation, overlap, overlapBudget, overlaps, reservationProblem, reserves } from '../../src/pipeline/overlap.js';

/** The meaning, straight from the glob engine: the path matches, or a directory above it does and the glob names a directory. */
function reservesByEngine(glob: string, path: string): boolean {
  const re = globToRegExp(normalizeReservation(glob));
  if (re.test(path)) return true;
  if (!namesDirectory(glob)) return false;
  const parts = path.split('/');
  return parts.some((_, i) => re.test(parts.slice(0, i + 1).join('/')));
}

/** Every path of up to three segments over a few names, to check the automata against the engine. */
const NAMES = ['a', 'b', 'x.ts', 'a.md', 'src', 'lib', 'b.ts', '.x', 'ab'];
const UNIVERSE: string[] = [];
for (const p of NAMES) {
  UNIVERSE.push(p);
  for (const q of NAMES) {
    UNIVERSE.push(`${p}/${q}`);
    for (const r of ['a', 'x.ts', 'src', 'b.ts']) UNIVERSE.push(`${p}/${q}/${r}`);
  }
}

const GLOBS = [
  '**',
  'a',
  'src',
  'src/',
  'src/**',
  'src/*',
  'src/*.ts',
  '*.ts',
  '**/*.ts',
  'src/**/*.ts',
  '**/src/**',
  'lib/x.ts',
  'lib/?.ts',
  '?',
  '??',
  '*.{ts,md}',
  'a/{b,src}/x.ts',
  '{src,lib}/**',
  '[ab]',
  '[!a]*',
  '[a-c].md',
  'x.ts',
  './src/x.ts',
  'a/**/a',
  '.x',
  '*',
  'b/*/*',
];

describe('a reservation covers what the glob engine matches, and everything below a matched directory', () => {
  it('agrees with src/core/glob.ts on every path of a small universe', () => {
    for (const g of GLOBS) for (const p of UNIVERSE) expect(reserves(g, p), `${g} vs ${p}`).toBe(reservesByEngine(g, p));
  });

  it('directories: a plain path covers what is below it; a trailing slash anchors it at the root', () => {
    expect(reserves('src/phases', 'src/phases/store.ts')).toBe(true);
    expect(reserves('src/phases', 'src/phases')).toBe(true);
    expect(reserves('src/phases', 'src/phasesX/a.ts')).toBe(false);
    expect(reserves('src/phases', 'x/src/phases/a.ts')).toBe(false);
    expect(reserves('src', 'x/src/a.ts')).toBe(true); // no "/": at any depth, like .gitignore
    expect(reserves('src/', 'x/src/a.ts')).toBe(false);
    expect(reserves('src/', 'src/a/b.ts')).toBe(true);
    expect(reserves('*.ts', 'a.tsx')).toBe(false);
    expect(reserves('*.ts', 'a.ts/b.md')).toBe(false); // a pattern covers the files it matches, not what is below them
    expect(reserves('src/*', 'src/a/b.ts')).toBe(false);
    expect(reserves('src/**', 'src/a/b.ts')).toBe(true);
    // a name with an extension is a file: a file elsewhere is not "below" it
    expect(reserves('src/core/glob.ts', 'src/core/glob.ts/README.md')).toBe(false);
    expect(overlap('src/core/glob.ts', 'README.md').overlaps).toBe(false);
    expect(reserves('.github', '.github/workflows/ci.yml')).toBe(true);
    expect(reserves('docs.v2/', 'docs.v2/a.md')).toBe(true);
  });
});

describe('overlap between two reservations is exact', () => {
  it('says overlap exactly when some path of the universe is covered by both, with a path both cover as example', () => {
    for (const a of GLOBS)
      for (const b of GLOBS) {
        const r = overlap(a, b);
        const brute = UNIVERSE.some((p) => reservesByEngine(a, p) && reservesByEngine(b, p));
        if (brute) expect(r.overlaps, `${a} ∩ ${b}`).toBe(true);
        if (r.overlaps) {
          expect(r.example, `${a} ∩ ${b}`).toBeDefined();
          expect(reservesByEngine(a, r.example as string), `${a} covers ${r.example}`).toBe(true);
          expect(reservesByEngine(b, r.example as string), `${b} covers ${r.example}`).toBe(true);
        }
      }
  });

  it('globs that share no path do not overlap', () => {
    const apart: [string, string][] = [
      ['src/**', 'lib/**'],
      ['src/*.ts', 'src/*.md'],
      ['src/*.ts', 'src/a/*.ts'],
      ['*.ts', '*.md'],
      ['docs/a.md', 'docs/b.md'],
      ['a/?', 'a/??'],
      ['[ab].ts', '[cd].ts'],
      ['src/[!a].ts', 'src/a.ts'],
      ['*.ts', '*.md'],
      ['{src,lib}/x.ts', 'test/**'],
      ['src/phases', 'src/phasesX'],
      ['src/', 'lib/src/a.ts'],
    ];
    for (const [a, b] of apart) expect(overlap(a, b).overlaps, `${a} ∩ ${b}`).toBe(false);
  });

  it('globs that share a path overlap, whichever way round', () => {
    const shared: [string, string, string][] = [
      ['src/**', 'src/phases/store.ts', 'src/phases/store.ts'],
      ['src/phases', 'src/**/*.ts', 'src/phases/a.ts'],
      ['*.ts', 'src/**', 'src/a.ts'],
      ['**/*.ts', 'lib/*/x.*', 'lib/a/x.ts'],
      ['src/{a,b}.ts', 'src/?.ts', 'src/a.ts'],
      ['[a-f]*.md', '[!b-z]?.md', 'aa.md'],
      ['docs', 'docs/**/*.md', 'docs/a.md'],
      ['**', 'anything/at/all', 'anything/at/all'],
      ['src/**/x', '**/b/**', 'src/b/x'],
    ];
    for (const [a, b, path] of shared) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        const r = overlap(x, y);
        expect(r.overlaps, `${x} ∩ ${y}`).toBe(true);
        expect(reserves(x, r.example as string) && reserves(y, r.example as string)).toBe(true);
      }
      expect(reserves(a, path) && reserves(b, path)).toBe(true);
    }
  });

  it('a search past its budget answers overlap (never lets two owners share a file by giving up)', () => {
    // Two globs that do not overlap (…/z.ts vs …/y.ts), searched with too little budget to find that out.
    const a = 'src/' + Array.from({ length: 6 }, (_, i) => `a${i}*`).join('/') + '/**/z.ts';
    const b = 'src/' + Array.from({ length: 6 }, (_, i) => `*a${i}`).join('/') + '/**/y.ts';
    expect(overlap(a, b)).toEqual({ overlaps: false }); // with the default budget: exact
    expect(overlap(a, b, overlapBudget(50))).toEqual({ overlaps: true, bounded: true });
    expect(MAX_PRODUCT_STATES).toBeGreaterThan(1000);
  });

  it('one budget bounds all the searches of a call: once spent, every further pair answers overlap', () => {
    const budget = overlapBudget(20);
    const mine = ['src/**/a*.ts', 'lib/**/b*.ts', 'docs/**/c*.md'];
    const theirs = Array.from({ length: 30 }, (_, i) => `pkg${i}/**/x*.ts`); // none overlaps mine
    expect(overlaps(mine, theirs)).toEqual([]);
    const bounded = overlaps(mine, theirs, budget);
    expect(budget.steps).toBeLessThan(0);
    expect(bounded.length).toBeGreaterThan(0);
    expect(bounded.every((o) => o.example === undefined)).toBe(true);
  });

  it('the most intricate globs the limits admit are decided within the default budget per pair', () => {
    // At the glob limits, one pair's search fits the budget many times over: a claim's check stays short.
    const g = (s: string) => 'src/' + Array.from({ length: Math.floor(MAX_GLOB_ATOMS / 3) }, (_, i) => `{${s}${i},*${s}}`).join('/');
    expect(reservationProblem(g('a'))).toBeNull();
    const budget = overlapBudget();
    overlap(g('a'), g('b'), budget);
    expect(budget.steps).toBeGreaterThan(0);
  });

  it('overlaps lists each pair once, mine then theirs', () => {
    expect(overlaps(['src/**', 'docs/a.md'], ['lib/**', 'src/x.ts', 'docs/*.md'])).toEqual([
      { mine: 'src/**', theirs: 'src/x.ts', example: 'src/x.ts' },
      { mine: 'docs/a.md', theirs: 'docs/*.md', example: 'docs/a.md' },
    ]);
  });
});

describe('reservationProblem refuses what is not a repository path pattern', () => {
  it.each([
    ['/etc/passwd', 'absolute'],
    ['C:/x', 'absolute'],
    ['~/x', 'absolute'],
    ['../x', '..'],
    ['a/../../x', '..'],
    ['a\\b', 'backslash'],
    ['a//b', 'empty path segment'],
    ['', 'empty'],
    [' a', 'spaces'],
    ['a\nb', 'control'],
    ['src/{a,b', 'unclosed'],
    ['a**', '"**"'],
    ['src/./a.ts', '"." segment'],
    ['**', 'whole repository'],
    ['*', 'whole repository'],
    ['**/*', 'whole repository'],
    ['./**', 'whole repository'],
    [Array.from({ length: 8 }, () => `{${Array.from({ length: 15 }, () => '*').join(',')}}`).join('') + 't1', 'too intricate'],
    ['src/' + Array.from({ length: MAX_GLOB_ATOMS + 1 }, (_, i) => `a${i}*`).join('/'), 'too intricate'],
  ])('%j → %s', (glob, words) => {
    expect(reservationProblem(glob)).toContain(words);
  });

  it('accepts globs and paths inside the repository', () => {
    for (const g of ['src/**', 'src/', './src/a.ts', '*.md', '.github/workflows/*.yml', 'a..b/c', 'src/**/*.{ts,tsx}', 'src/' + Array.from({ length: MAX_GLOB_ATOMS }, (_, i) => `a${i}*`).join('/')])
      expect(reservationProblem(g), g).toBeNull();
  });

  it('counts wildcards, classes and brace alternatives (a run of * once)', () => {
    expect(globAtoms('src/a.ts')).toBe(0);
    expect(globAtoms('src/**/*.{ts,tsx}')).toBe(4); // **, *, {, one comma
    expect(globAtoms('a?[bc]/***')).toBe(3);
  });
});
