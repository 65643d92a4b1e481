import { describe, expect, it } from 'vitest';
import { MANIFESTS, isLockfile, manifestOf } from '../../src/changes/manifests.js';

const parse = (name: string, line: string) => {
  const m = manifestOf(name);
  if (!m) throw new Error(`${name} is not a manifest`);
  return m.parse(line);
};

describe('lockfiles and manifests by file name', () => {
  it('knows the lockfiles of each ecosystem', () => {
    for (const n of ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'Cargo.lock', 'go.sum', 'Gemfile.lock', 'composer.lock', 'poetry.lock', 'uv.lock'])
      expect(isLockfile(n), n).toBe(true);
    expect(isLockfile('package.json')).toBe(false);
    expect(isLockfile('yarn.lock.bak')).toBe(false);
  });

  it('knows the manifests; requirements*.txt and *.in pin versions, so they are their own lockfile', () => {
    expect(Object.keys(MANIFESTS).sort()).toEqual(['Cargo.toml', 'Gemfile', 'Pipfile', 'composer.json', 'go.mod', 'package.json', 'pyproject.toml']);
    for (const n of Object.keys(MANIFESTS)) expect(manifestOf(n)?.selfLocked, n).toBeUndefined();
    for (const n of ['requirements.txt', 'requirements-dev.txt', 'requirements.in']) expect(manifestOf(n)?.selfLocked, n).toBe(true);
    expect(manifestOf('requirements.md')).toBeNull();
    expect(manifestOf('README.md')).toBeNull();
  });
});

describe('the dependency a changed manifest line names', () => {
  it('package.json and composer.json: a name with a version-like value; not metadata, not scripts', () => {
    expect(parse('package.json', '    "zod": "^4.1.0",')).toBe('zod');
    expect(parse('package.json', '    "@types/node": "20.19.43"')).toBe('@types/node');
    expect(parse('package.json', '    "mine": "workspace:*",')).toBe('mine');
    expect(parse('package.json', '  "version": "1.2.3",')).toBeNull();
    expect(parse('package.json', '    "lint": "eslint ."')).toBeNull();
    expect(parse('composer.json', '        "monolog/monolog": "^3.0"')).toBe('monolog/monolog');
  });

  it('Cargo.toml, pyproject.toml, Pipfile: TOML keys and PEP 508 strings, lower-cased', () => {
    expect(parse('Cargo.toml', 'serde = "1.0.200"')).toBe('serde');
    expect(parse('Cargo.toml', 'Tokio = { version = "1", features = ["full"] }')).toBe('tokio');
    expect(parse('Cargo.toml', 'edition = "2021"')).toBeNull();
    expect(parse('Cargo.toml', 'name = "app"')).toBeNull();
    expect(parse('pyproject.toml', '  "Django[argon2]>=4.2",')).toBe('django');
    expect(parse('Pipfile', 'requests = "*"')).toBe('requests');
  });

  it('go.mod, Gemfile, requirements (comments and extras ignored)', () => {
    expect(parse('go.mod', '\tgithub.com/x/y v1.2.0')).toBe('github.com/x/y');
    expect(parse('go.mod', 'require golang.org/x/net v0.1.0 // indirect')).toBe('golang.org/x/net');
    expect(parse('go.mod', 'go 1.22')).toBeNull();
    expect(parse('Gemfile', "gem 'rails', '~> 7.1'")).toBe('rails');
    expect(parse('requirements.txt', 'Flask[async]==3.0.0  # web')).toBe('flask');
    expect(parse('requirements.txt', 'requests')).toBe('requests');
    expect(parse('requirements.txt', '# just a comment')).toBeNull();
  });

  it('a long run of spaces does not make a parser backtrack', () => {
    const line = `    "a": "1"${' '.repeat(100_000)}x`;
    const t = performance.now();
    expect(parse('package.json', line)).toBeNull();
    expect(performance.now() - t).toBeLessThan(1000);
  });
});
