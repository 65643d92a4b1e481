import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/integrations/run.js';

describe('runCommand', () => {
  it('returns exit code and output', async () => {
    const r = await runCommand([process.execPath, '-e', 'console.log("hi"); process.exit(3)'], { cwd: process.cwd(), timeoutMs: 10_000 });
    expect(r).toMatchObject({ exitCode: 3, timedOut: false, truncated: false });
    expect(r.stdout).toBe('hi\n');
  });

  it('kills a hanging command at its timeout', async () => {
    const r = await runCommand([process.execPath, '-e', 'setInterval(() => {}, 1000)'], { cwd: process.cwd(), timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
  });

  it('caps enormous output', async () => {
    const r = await runCommand([process.execPath, '-e', 'process.stdout.write("x".repeat(5_000_000))'], { cwd: process.cwd(), timeoutMs: 10_000, maxOutputBytes: 1000 });
    expect(r.truncated).toBe(true);
    expect(r.output.length).toBe(1000);
  });

  it('reports a missing command instead of throwing', async () => {
    const r = await runCommand(['definitely-not-a-command-xyz'], { cwd: process.cwd(), timeoutMs: 1000 });
    expect(r.spawnError).toMatch(/ENOENT/);
  });

  it('stops on cancellation', async () => {
    const ac = new AbortController();
    const p = runCommand([process.execPath, '-e', 'setInterval(() => {}, 1000)'], { cwd: process.cwd(), timeoutMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    expect((await p).cancelled).toBe(true);
  });
});
