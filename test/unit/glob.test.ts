import { describe, expect, it } from 'vitest';
import { GlobError, compileGlobs, globToRegExp, globsToRegExp } from '../../src/core/glob.js';

const m = (glob: string, p: string) => globToRegExp(glob).test(p);

describe('globToRegExp', () => {
  it('* stays within one path segment; a glob without / matches the name at any depth', () => {
    expect(m('*.md', 'README.md')).toBe(true);
    expect(m('*.md', 'docs/deep/a.md')).toBe(true);
    expect(m('src/*.ts', 'src/a.ts')).toBe(true);
    expect(m('src/*.ts', 'src/x/a.ts')).toBe(false);
    expect(m('*.md', 'README.mdx')).toBe(false);
  });

  it('** spans any number of directories, including none', () => {
    expect(m('docs/**', 'docs/a.md')).toBe(true);
    expect(m('docs/**', 'docs/x/y/a.md')).toBe(true);
    expect(m('docs/**', 'src/docs.ts')).toBe(false);
    expect(m('**/migrations/**', 'migrations/001.sql')).toBe(true);
    expect(m('**/migrations/**', 'db/migrations/001.sql')).toBe(true);
    expect(m('src/**/*.ts', 'src/a.ts')).toBe(true);
    expect(m('src/**/*.ts', 'src/a/b/c.ts')).toBe(true);
  });

  it('leading **/ and trailing /** keep their meaning in the fast form', () => {
    expect(m('**/migrations/**', 'migrations')).toBe(false);
    expect(m('**/migrations/**', 'xmigrations/a.sql')).toBe(false);
    expect(m('**/migrations/**', 'a/b/migrations/c/d.sql')).toBe(true);
    expect(m('**/schema.prisma', 'schema.prisma')).toBe(true);
    expect(m('**/schema.prisma', 'db/schema.prisma.bak')).toBe(false);
    expect(m('a/**/b', 'a/b')).toBe(true);
    expect(m('a/**/b', 'a/x/y/b')).toBe(true);
    expect(m('a/**/b', 'a/x/y/bc')).toBe(false);
    expect(m('**', 'any/thing')).toBe(true);
    expect(m('/top.txt', 'sub/top.txt')).toBe(false);
  });

  it('compileGlobs tests name globs on the file name and path globs on the path', () => {
    const g = compileGlobs(['*.md', 'docs/**', '**/auth/**']);
    expect(g.test('a/b/README.md')).toBe(true);
    expect(g.test('docs/x.png')).toBe(true);
    expect(g.test('src/auth/login.ts')).toBe(true);
    expect(g.test('src/authz.ts')).toBe(false);
    expect(g.test('md/file.txt')).toBe(false);
  });

  it('? is one character, {a,b} alternatives (nestable), [..] a set', () => {
    expect(m('file?.txt', 'file1.txt')).toBe(true);
    expect(m('file?.txt', 'file12.txt')).toBe(false);
    expect(m('*.{yml,yaml}', 'ci/a.yaml')).toBe(true);
    expect(m('*.{yml,yaml}', 'ci/a.json')).toBe(false);
    expect(m('{src,lib/{a,b}}/*.js', 'lib/b/x.js')).toBe(true);
    expect(m('v[0-9].txt', 'v3.txt')).toBe(true);
    expect(m('v[!0-9].txt', 'v3.txt')).toBe(false);
  });

  it('escapes regex characters and handles spaces', () => {
    expect(m('a+b (1).md', 'x/a+b (1).md')).toBe(true);
    expect(m('a.b', 'axb')).toBe(false);
    expect(m('/top.txt', 'top.txt')).toBe(true);
  });

  it('a leading ./ anchors at the root, like a leading /', () => {
    expect(m('./top.txt', 'top.txt')).toBe(true);
    expect(m('./top.txt', 'sub/top.txt')).toBe(false);
    expect(m('./src/**', 'src/a/b.ts')).toBe(true);
    expect(compileGlobs(['./top.txt']).test('sub/top.txt')).toBe(false);
  });

  it('several globs compile to one expression', () => {
    const re = globsToRegExp(['*.md', 'docs/**']);
    expect(re.test('a/b.md')).toBe(true);
    expect(re.test('docs/x.png')).toBe(true);
    expect(re.test('src/x.ts')).toBe(false);
  });

  it('rejects malformed globs with a reason', () => {
    expect(() => globToRegExp('{a,b')).toThrow(GlobError);
    expect(() => globToRegExp('a}')).toThrow(/unmatched/);
    expect(() => globToRegExp('[abc')).toThrow(/unclosed/);
    expect(() => globToRegExp('a**b')).toThrow(/whole path segment/);
    expect(() => globToRegExp('')).toThrow(/empty/);
  });
});
