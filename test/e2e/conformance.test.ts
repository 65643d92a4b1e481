import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listeningUrl } from '../helpers/http.js';

/**
 * The official MCP conformance suite's server scenarios against `factory-mcp http` (docs/conformance.md).
 * The suite needs Node 22: test/conformance installs it from the npm registry (the root `prepare`
 * runs `npm ci` there), apart from the project's own tree, whose scripts keep the Node they run on.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'dist/src/cli.js');
const HERE = path.join(ROOT, 'test/conformance');
const NODE22 = path.join(HERE, 'node_modules/node/bin/node');
const SUITE = path.join(HERE, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const SCENARIOS = path.join(HERE, 'scenarios.yml');

/** The two lists of scenarios.yml: `applies` (must pass) and `server` (not applicable). */
function lists(): { applies: string[]; notApplicable: string[] } {
  const out: Record<string, string[]> = {};
  let key = '';
  for (const line of fs.readFileSync(SCENARIOS, 'utf8').split('\n')) {
    const top = /^(\w+):\s*$/.exec(line);
    const item = /^\s+-\s+([\w-]+)/.exec(line);
    if (top) key = top[1] as string;
    else if (item && key) (out[key] ??= []).push(item[1] as string);
  }
  return { applies: out.applies ?? [], notApplicable: out.server ?? [] };
}

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-conformance-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('MCP conformance suite (server scenarios)', () => {
  it('every scenario that applies passes against factory-mcp http; the others are the listed ones', async () => {
    for (const f of [NODE22, SUITE])
      if (!fs.existsSync(f)) throw new Error(`${path.relative(ROOT, f)} is missing: run "npm ci --prefix test/conformance" (the root prepare does it on npm ci / npm install)`);
    const child = spawn(process.execPath, [CLI, 'http', '--host', '127.0.0.1', '--port', '0', '--db', path.join(dir, 'factory.db')], { cwd: dir, env: { ...process.env, FACTORY_LOG: 'silent' } });
    try {
      const url = await listeningUrl(child);
      const out = path.join(dir, 'results');
      const run = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          NODE22,
          [SUITE, 'server', '--url', `${url}/mcp`, '--suite', 'all', '--expected-failures', SCENARIOS, '-o', out],
          { cwd: dir, timeout: 50_000, maxBuffer: 16 << 20 },
          (e, stdout, stderr) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout: `${stdout}${stderr}` }),
        );
      });
      // Each scenario leaves results/server-<scenario>-<time>/checks.json.
      const results = new Map<string, Check[]>();
      for (const d of fs.readdirSync(out)) {
        const scenario = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(d)?.[1];
        if (scenario) results.set(scenario, JSON.parse(fs.readFileSync(path.join(out, d, 'checks.json'), 'utf8')) as Check[]);
      }
      const { applies, notApplicable } = lists();
      // A scenario a newer suite adds must be placed in scenarios.yml (and docs/conformance.md).
      expect([...results.keys()].sort()).toEqual([...applies, ...notApplicable].sort());
      for (const scenario of applies) {
        const checks = results.get(scenario) ?? [];
        expect({ scenario, failed: checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING').map((c) => `${c.id}: ${c.status} ${c.errorMessage ?? ''}`) }).toEqual({
          scenario,
          failed: [],
        });
        expect(checks.some((c) => c.status === 'SUCCESS')).toBe(true);
      }
      // Exit 0: no applicable scenario failed, and no listed one started to pass (the list stays true).
      expect(run.code, run.stdout.slice(-3000)).toBe(0);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
