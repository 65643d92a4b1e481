import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Octokit } from 'octokit';
import { parseConfig } from '../src/core/config.js';
import { createServer } from '../src/mcp/server.js';
import { Store } from '../src/core/store.js';
import { FakeGitHub } from '../test/fakes/github.js';
import { fmt, isMain, stats } from './lib.js';

/**
 * merge_phase's own cost: a Ship merge through the MCP call path (token, kill switch, autonomy,
 * the PR found by its branch, the head's tree and merge base from git, DoD, classification and
 * council read from SQLite, the squash-merge, the `merge` entry and the completion) against the
 * same two GitHub calls it makes (list the open pull requests, merge) sent straight with octokit
 * to the same fake GitHub, interleaved, each with a fresh claimed phase and pull request.
 * Target: overhead (p50 difference) ≤ 20 ms.
 */

const N = Number(process.env.BENCH_ITER ?? 150);
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' } }).trim();

export async function benchMerge(): Promise<{ merge: { p50: number; p99: number }; direct: { p50: number; p99: number }; overhead: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-bench-merge-'));
  const gh = await new FakeGitHub().start();
  const store = await Store.open(path.join(dir, 'factory.db'), { leaseSeconds: 7200 });
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...gh.env() };
  const factory = createServer({ store, config: parseConfig({ github: { owner: 'acme', repo: 'app' } }), root: dir, env, session: { transport: 'memory', pid: null } });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([factory.server.connect(b), client.connect(a)]);
  const call = async <T>(name: string, args: Record<string, unknown>): Promise<T> => {
    const r = await client.callTool({ name, arguments: args });
    if (r.isError) throw new Error(JSON.stringify(r.content));
    return r.structuredContent as T;
  };
  const octo = new Octokit({ auth: gh.acceptedToken, baseUrl: gh.url, request: { retries: 0 }, throttle: { enabled: false } });
  try {
    git(dir, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(dir, 'README.md'), '# bench\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'base');
    const base = git(dir, 'rev-parse', 'HEAD');
    git(dir, 'checkout', '-qb', 'docs');
    fs.writeFileSync(path.join(dir, 'README.md'), '# bench\n\nMore words.\n');
    git(dir, 'commit', '-qam', 'docs');
    const head = git(dir, 'rev-parse', 'HEAD');
    const tree = git(dir, 'rev-parse', 'HEAD^{tree}');
    git(dir, 'checkout', '-q', 'main');
    await call('plan_mega', { key: 'B', title: 'bench', phases: Array.from({ length: 2 * N + 20 }, (_, i) => ({ id: i + 1, name: `p${i + 1}` })) });
    const pulls: NonNullable<ReturnType<typeof gh.pulls.get>> = [];
    gh.pulls.set('acme/app', pulls);
    let n = 0;
    /** A claimed phase with a passing DoD run and a Ship classification of `head`, and its open PR on the fake. */
    const ready = async () => {
      const c = await call<{ token: string; phase: { id: number }; owner: string }>('claim_phase', { mega: 'B' });
      await call('classify_change', { mega: 'B', phase: c.phase.id, token: c.token, cwd: dir, head });
      await store.tx(() =>
        store.dod.record(Date.now(), { instance: c.owner, mega: 'B', phase: String(c.phase.id), tree, base, passed: true, partial: false, score: '10/10', cached: false, checks: [] }),
      );
      pulls.push({ number: ++n, head: { ref: `factory/B-${c.phase.id}-docs`, sha: head } });
      return { at: { mega: 'B', phase: c.phase.id, token: c.token }, pr: n };
    };
    const merge: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < N + 10; i++) {
      const m = await ready();
      let t = performance.now();
      const r = await call<{ merged: boolean; message: string }>('merge_phase', m.at);
      const dm = performance.now() - t;
      if (!r.merged) throw new Error(r.message);
      const d = await ready();
      t = performance.now();
      await octo.rest.pulls.list({ owner: 'acme', repo: 'app', state: 'open', per_page: 100 });
      await octo.rest.pulls.merge({ owner: 'acme', repo: 'app', pull_number: d.pr, merge_method: 'squash', sha: head });
      const dd = performance.now() - t;
      if (i < 10) continue; // the first ten warm up
      merge.push(dm);
      direct.push(dd);
    }
    const ms = stats(merge);
    const ds = stats(direct);
    return { merge: ms, direct: ds, overhead: ms.p50 - ds.p50 };
  } finally {
    await client.close();
    await factory.cleanup();
    await store.close();
    await gh.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const r = await benchMerge();
  console.log(`merge_phase (Ship, through MCP)        p50 ${fmt(r.merge.p50)} ms  p99 ${fmt(r.merge.p99)} ms`);
  console.log(`its GitHub calls alone (list + merge)  p50 ${fmt(r.direct.p50)} ms  p99 ${fmt(r.direct.p99)} ms`);
  console.log(`overhead p50 ${fmt(r.overhead)} ms (target ≤ 20 ms) over ${N} merges each`);
}
