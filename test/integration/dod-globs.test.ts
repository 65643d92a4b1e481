import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { harness, type Agent, type Harness } from '../helpers/server.js';
import { makeRepo, type TestRepo } from '../helpers/git.js';

/**
 * One glob engine (src/core/glob.ts): the same pattern picks the same files as a DoD component's
 * paths and as a change rule's paths. The DoD had its own matcher, which took `{a,b}` and `[...]`
 * literally.
 */
const BRACES = 'src/{api,web}/**';
const SET = 'lib/v[0-9].ts';

let repo: TestRepo;
let h: Harness;
let a: Agent;

beforeAll(async () => {
  repo = makeRepo();
  repo.commit('base', { 'README.md': '# app\n' });
  repo.git('checkout', '-q', '-b', 'feature');
  h = await harness({
    config: {
      dod: {
        github: 'off',
        components: [
          { name: 'braces', paths: [BRACES] },
          { name: 'set', paths: [SET] },
          { name: 'docs', paths: ['docs'] },
        ],
      },
      changes: {
        rules: [
          { id: 'braces', level: 'ask', paths: [BRACES] },
          { id: 'set', level: 'ask', paths: [SET] },
        ],
      },
    },
  });
  a = await h.connect({ root: repo.dir });
});

afterAll(async () => {
  await h?.close();
  repo?.remove();
});

/** The components check_dod selects for a working tree that changes only `file` (all of them when none owns it). */
async function dodComponents(file: string): Promise<string[]> {
  repo.write({ [file]: 'x\n' });
  try {
    const r = await a.call<{ message: string }>('check_dod', { only: ['state_updated'] });
    return (/ \[([^\]]*)\]/.exec(r.message)?.[1] ?? '').split(', ');
  } finally {
    repo.write({ [file]: null });
  }
}

/** The configured change rules that fire for `file`. */
async function changeRules(file: string): Promise<string[]> {
  const r = await a.call<{ reasons: { rule: string }[] }>('classify_change', { files: [{ path: file, additions: 1, deletions: 0 }] });
  return r.reasons.map((x) => x.rule).filter((x) => x === 'braces' || x === 'set');
}

describe('one glob engine for the DoD and the change rules', () => {
  const ALL = ['braces', 'set', 'docs'];
  it.each([
    ['src/api/a.ts', 'braces'],
    ['src/web/deep/b.ts', 'braces'],
    ['src/cli/c.ts', null],
    ['src/{api,web}/d.ts', null],
    ['lib/v3.ts', 'set'],
    ['lib/vx.ts', null],
    ['lib/v[0-9].ts', null],
  ])('%s', async (file, owner) => {
    expect(await dodComponents(file)).toEqual(owner ? [owner] : ALL);
    expect(await changeRules(file)).toEqual(owner ? [owner] : []);
  });

  it('a directory named in a component owns its files', async () => {
    expect(await dodComponents('docs/guide/a.md')).toEqual(['docs']);
    // The run's log entry keeps the components it checked: the cycle report's "components touched".
    expect((await h.store.operations.recent(1))[0]).toMatchObject({ kind: 'dod', data: { components: ['docs'] } });
  });

  it('a malformed glob is refused at load, naming the field, in both places', () => {
    expect(() => parseConfig({ dod: { components: [{ name: 'x', paths: ['src/**', 'a**b'] }] } })).toThrow(/dod\.components\[0\]\.paths\[1\].*whole path segment/);
    expect(() => parseConfig({ changes: { rules: [{ id: 'x', level: 'ask', paths: ['src/**', 'a**b'] }] } })).toThrow(/whole path segment/);
  });
});
