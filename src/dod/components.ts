/**
 * The components a DoD run checks: the configured ones (dod.components), or one detected from the
 * repository's marker files (package.json scripts, Cargo.toml, go.mod, pyproject.toml).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../schemas/config.js';
import type { DodComponent } from '../../schemas/dod.js';
import { detectCommands } from './domain.js';
import { configKey } from './checks/check.js';

export type CommandCheck = 'compiles' | 'tests' | 'lint' | 'format';

export interface Component {
  name: string;
  /** Where its settings are, for details that say what to fix: `dod.components[0]`. */
  where: string;
  dir: string;
  detected: boolean;
  detail: string;
  paths: string[];
  commands: Partial<Record<CommandCheck, string[] | false>>;
  /** Checks the test run waits for (their success); built output must exist before tests import it. */
  after: readonly ('compiles' | 'lint' | 'format')[];
  testReport?: string;
  warningPattern: string;
  timeoutMs: number;
  thresholds: DodComponent['thresholds'];
  /** A hash of all of the above: the config part of its cache and baseline keys. */
  key: string;
}

export function components(config: Config, root: string): Component[] {
  const cfg = config.dod;
  if (cfg.components.length) {
    return cfg.components.map((c, i) => {
      const base = {
        name: c.name,
        where: `dod.components[${i}]`,
        dir: c.dir,
        detected: false,
        detail: `configured (${c.paths.join(', ')})`,
        paths: c.paths,
        commands: c.commands,
        after: c.after,
        testReport: c.test_report,
        warningPattern: c.warning_pattern,
        timeoutMs: c.timeout_seconds * 1000,
        thresholds: c.thresholds,
      };
      return { ...base, key: configKey(base) };
    });
  }
  const read = (f: string) => (fs.existsSync(path.join(root, f)) ? fs.readFileSync(path.join(root, f), 'utf8') : undefined);
  const d = detectCommands({
    packageJson: read('package.json'),
    cargo: fs.existsSync(path.join(root, 'Cargo.toml')),
    gomod: fs.existsSync(path.join(root, 'go.mod')),
    pyproject: fs.existsSync(path.join(root, 'pyproject.toml')),
  });
  const base = {
    name: 'detected',
    where: 'dod.components[]',
    dir: '.',
    detected: true,
    detail: d ? `detected from ${d.detail}` : 'nothing detected (no package.json, Cargo.toml, go.mod or pyproject.toml): configure dod.components',
    paths: ['**'],
    commands: d?.commands ?? {},
    after: ['compiles' as const],
    warningPattern: '\\bwarn(ing)?\\b',
    timeoutMs: 600_000,
    thresholds: { zero_warnings: false },
  };
  return [{ ...base, key: configKey(base) }];
}
