import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * A clean install on the oldest Node the package claims prints no EBADENGINE: every package
 * either lockfile installs (the project's, and the conformance suite's beside it) admits that Node.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const LOCKFILES = ['package-lock.json', 'test/conformance/package-lock.json'];

type Version = [number, number, number];

/** The oldest Node of package.json's `engines.node` (a `>=` range). */
function oldestNode(): Version {
  const range = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range);
  if (!m) throw new Error(`package.json engines.node: expected ">=X.Y", got ${JSON.stringify(range)}`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** One comparator of an npm range (`>=20`, `^20.19.0`, `~14.6`, `20.x`, `18`, `*`), enough for engines fields. */
function admits(v: Version, comparator: string): boolean {
  const m = /^(>=|<=|>|<|=|\^|~)?v?(\*|x|\d+)(?:\.(\*|x|\d+))?(?:\.(\*|x|\d+))?$/i.exec(comparator);
  if (!m) throw new Error(`engines range: cannot read the comparator ${JSON.stringify(comparator)}`);
  const [, op = '', ...parts] = m;
  const nums = parts.filter((p) => p !== undefined && !/^[*x]$/i.test(p)).map(Number);
  if (nums.length === 0) return op === '' || op === '>=' || op === '<=';
  const low: Version = [nums[0] ?? 0, nums[1] ?? 0, nums[2] ?? 0];
  // The first version past a partial one (20 → 21.0.0, 14.6 → 14.7.0); a full one is itself.
  const next: Version = nums.length === 1 ? [low[0] + 1, 0, 0] : nums.length === 2 ? [low[0], low[1] + 1, 0] : low;
  switch (op) {
    case '>=':
      return cmp(v, low) >= 0;
    case '>':
      return nums.length === 3 ? cmp(v, low) > 0 : cmp(v, next) >= 0;
    case '<':
      return cmp(v, low) < 0;
    case '<=':
      return nums.length === 3 ? cmp(v, low) <= 0 : cmp(v, next) < 0;
    case '^':
      return cmp(v, low) >= 0 && v[0] === low[0];
    case '~':
      return cmp(v, low) >= 0 && (nums.length === 1 ? v[0] === low[0] : v[0] === low[0] && v[1] === low[1]);
    default:
      return nums.length === 3 ? cmp(v, low) === 0 : cmp(v, low) >= 0 && cmp(v, next) < 0;
  }
}

function satisfies(v: Version, range: string): boolean {
  return range.split('||').some((set) =>
    set
      .trim()
      .replace(/([<>=^~]+)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean)
      .every((c) => admits(v, c)),
  );
}

describe('engines', () => {
  it('reads the ranges npm packages state', () => {
    expect(satisfies([20, 19, 0], '>=18')).toBe(true);
    expect(satisfies([20, 19, 0], '>= 20')).toBe(true);
    expect(satisfies([20, 19, 0], '>=22')).toBe(false);
    expect(satisfies([20, 19, 0], '^20.19.0 || >=22.12.0')).toBe(true);
    expect(satisfies([20, 18, 0], '^20.19.0 || >=22.12.0')).toBe(false);
    expect(satisfies([20, 19, 0], '18 || 20 || >=22')).toBe(true);
    expect(satisfies([21, 0, 0], '18 || 20 || >=22')).toBe(false);
    expect(satisfies([20, 19, 0], '20.x || 22.x')).toBe(true);
    expect(satisfies([20, 19, 0], '^12.17.0 || ^14.13 || >=16.0.0')).toBe(true);
    expect(satisfies([20, 19, 0], '*')).toBe(true);
    expect(satisfies([20, 19, 0], '>=20.18.1')).toBe(true);
    expect(satisfies([20, 19, 0], '>=20.20')).toBe(false);
  });

  for (const lock of LOCKFILES) {
    it(`every package of ${lock} installs on the oldest Node package.json claims, without EBADENGINE`, () => {
      const min = oldestNode();
      const packages = (JSON.parse(fs.readFileSync(path.join(ROOT, lock), 'utf8')) as { packages: Record<string, { engines?: { node?: string } }> }).packages;
      const refused = Object.entries(packages)
        .filter(([, p]) => p.engines?.node !== undefined && !satisfies(min, p.engines.node))
        .map(([name, p]) => `${name} wants node ${p.engines?.node}`);
      expect(refused).toEqual([]);
    });
  }
});
