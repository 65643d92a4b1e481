import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/server.js';
import { stdioAgent, type StdioAgent } from '../helpers/stdio.js';

const SECRETS = {
  FACTORY_ACK_TOKEN: 'human-only-ack-1a2b3c4d5e',
  FACTORY_HTTP_TOKEN: 'agents-http-token-6f7a8b',
  GITHUB_TOKEN: 'ghp_server0github0token0y1',
  LINEAR_API_KEY: 'lin_api_server0key0000y2',
};

let repo: TestRepo | null = null;
let dir: string | null = null;
let agent: StdioAgent | null = null;

afterEach(async () => {
  await agent?.close().catch(() => {});
  repo?.remove();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  agent = null;
  repo = null;
  dir = null;
});

/**
 * A repository whose .git/config (which any agent can write) points every program git can be told
 * to run at a script that writes its environment to `marker`: fsmonitor, a clean/smudge filter, a
 * textconv driver, an external diff driver and diff.external; hooks for good measure.
 */
function hostileRepo(marker: string, script: string): TestRepo {
  const r = makeRepo();
  fs.writeFileSync(script, `#!/bin/sh\nenv >> '${marker}'\nif [ $# -eq 0 ]; then exec cat; fi\nexit 0\n`, { mode: 0o755 }); // a filter echoes stdin
  r.commit('base', { 'src/app.ts': 'export const a = 1;\n', 'factory.config.json': JSON.stringify({ dod: { components: [{ name: 'app', commands: { compiles: [process.execPath, '-e', '0'] } }] } }) });
  r.write({ '.gitattributes': '* filter=evil diff=evil\n', 'src/app.ts': 'export const a = 2;\n', 'src/new.ts': 'export const b = 1;\n' });
  r.git('config', 'core.fsmonitor', script);
  r.git('config', 'filter.evil.clean', script);
  r.git('config', 'filter.evil.smudge', script);
  r.git('config', 'filter.evil.required', 'true');
  r.git('config', 'diff.evil.textconv', script);
  r.git('config', 'diff.evil.command', script);
  r.git('config', 'diff.external', script);
  const hooks = path.join(r.dir, '.git', 'hooks');
  for (const h of ['post-checkout', 'post-index-change', 'pre-auto-gc']) fs.writeFileSync(path.join(hooks, h), `#!/bin/sh\nenv >> '${marker}'\n`, { mode: 0o755 });
  return r;
}

describe("git runs none of the repository's programs and gets no secret (issue 12, finding 2)", () => {
  it('classify_change and check_dod (tree hash) over a repository with a hostile .git/config', async () => {
    dir = tempDir('factory-sec-git-');
    const marker = path.join(dir, 'ran.txt');
    const script = path.join(dir, 'evil.sh');
    repo = hostileRepo(marker, script);
    // The server's environment carries the secrets, and git settings that would run a program if passed on.
    agent = await stdioAgent(path.join(dir, 'factory.db'), {
      cwd: repo.dir,
      env: { ...SECRETS, GIT_EXTERNAL_DIFF: script, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.pager', GIT_CONFIG_VALUE_0: script },
    });

    const c = await agent.call<{ level: string; stats: { files: number } }>('classify_change', {});
    expect(c.stats.files).toBe(3); // app.ts changed, new.ts and .gitattributes untracked
    const d = await agent.call<{ checks: { id: string; status: string; detail: string }[] }>('check_dod', { only: ['compiles'] });
    expect(d.checks[0]).toMatchObject({ id: 'compiles', status: 'pass' });
    expect(fs.existsSync(marker), 'a program ran during classify_change or check_dod').toBe(false);
    // a committed range whose files carry the hostile attributes (committed with the programs off)
    const off = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '-c', 'filter.evil.clean=cat', '-c', 'filter.evil.required=false'];
    repo.git(...off, 'add', '-A');
    repo.git(...off, 'commit', '-q', '-m', 'change');
    const range = await agent.call<{ stats: { files: number } }>('classify_change', { base: 'HEAD~1', head: 'HEAD' });
    expect(range.stats.files).toBe(3);

    expect(fs.existsSync(marker), fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').slice(0, 500) : '').toBe(false);
    for (const [k, v] of Object.entries(SECRETS)) expect(JSON.stringify([c, d, range]).includes(v), k).toBe(false);
  });

  it("the same repository's filter does run for plain git (the test is not vacuous)", () => {
    dir = tempDir('factory-sec-git-');
    const marker = path.join(dir, 'ran.txt');
    repo = hostileRepo(marker, path.join(dir, 'evil.sh'));
    repo.git('add', '-A');
    expect(fs.existsSync(marker)).toBe(true);
  });
});
