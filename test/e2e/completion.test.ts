import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/cli/init.js';
import { tempDir } from '../helpers/server.js';

// Shell completion generated from the CLI's command list, exercised in a real bash; and status on an
// empty database pointing at the ways in.
const CLI = path.join(packageRoot(), 'dist', 'src', 'cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, FACTORY_LOG: 'silent' }, timeout: 30_000 });
const dir = tempDir('factory-completion-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The commands `factory-mcp --help` lists: what a person sees. */
function helpCommands(): string[] {
  const help = run('--help').stdout;
  const section = help.slice(help.indexOf('Commands:\n') + 'Commands:\n'.length, help.indexOf('\n\n', help.indexOf('Commands:\n')));
  return section.split('\n').map((l) => l.trim().split(/\s+/)[0] as string);
}

/** Sources the bash script in a real bash, sets the words typed so far, and returns what completes. */
function bashComplete(...typed: string[]): string[] {
  const words = typed.map((w) => `'${w}'`).join(' ');
  const script = `source <("${process.execPath}" "${CLI}" completion bash) && COMP_WORDS=(factory-mcp ${words}) && COMP_CWORD=${typed.length} && _factory_mcp && printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--noprofile', '--norc', '-c', script], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

describe('factory-mcp completion', () => {
  it('bash: sourced in a real bash, it registers for factory-mcp and completes commands, options and fixed words', () => {
    const r = spawnSync('bash', ['--noprofile', '--norc', '-c', `source <("${process.execPath}" "${CLI}" completion bash) && complete -p factory-mcp`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('complete -o filenames -F _factory_mcp factory-mcp');
    expect(bashComplete('st')).toEqual(['stdio', 'status', 'statuses']);
    expect(bashComplete('sync')).toEqual(['sync-plan']);
    expect(bashComplete('status', '--j')).toEqual(['--json']);
    expect(bashComplete('demo', '--k')).toEqual(['--keep']);
    expect(bashComplete('completion', '')).toEqual(['bash', 'zsh']);
    // the tools' twins, with their flags and subcommands
    expect(bashComplete('session', '')).toEqual(['start', 'end']);
    expect(bashComplete('complete', '--ch')).toEqual(['--chain']);
    expect(bashComplete('heartbeat', '--t')).toEqual(['--token']);
    expect(bashComplete('checkpoint', '--n')).toEqual(['--next', '--note']);
    expect(bashComplete('memory', '')).toEqual(['list', 'add']);
    fs.writeFileSync(path.join(dir, 'plan.json'), '{}');
    expect(bashComplete('import', 'pl')).toEqual(['plan.json']); // arguments complete as files
  });

  it('every command of the CLI appears in both scripts, so neither drifts from the list', () => {
    const commands = helpCommands();
    expect(commands).toContain('completion');
    expect(commands.length).toBeGreaterThan(10);
    expect(bashComplete('').sort()).toEqual([...commands, 'help', '--help', '--version'].sort());
    const zsh = run('completion', 'zsh');
    expect(zsh.status).toBe(0);
    expect(zsh.stdout.startsWith('#compdef factory-mcp\n')).toBe(true);
    for (const c of commands) {
      expect(zsh.stdout).toContain(`'${c}:`); // offered with its summary
      expect(zsh.stdout).toMatch(new RegExp(`^ {4}${c}\\) opts=\\(`, 'm')); // and its options
    }
  });

  it('an unknown shell is an error naming the argument, exit 2', () => {
    const r = run('completion', 'fish');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/SHELL.*bash, zsh/);
  });
});

describe('status on an empty database', () => {
  it('says how to get a MEGA in: plan it, or import a claim file', () => {
    const r = run('status', '--db', path.join(dir, 'empty.db'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^No MEGA planned yet: plan one with .*plan.*, or import a claim file with `factory-mcp import FILE`\.$/m);
  });
});
