import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/cli/init.js';

// A rebase conflict resolved by committing the file as it was once put markers into the README and
// docs/pipeline.md on main; no tracked file may carry them.
describe('no merge-conflict markers in tracked files', () => {
  it('finds none', () => {
    const root = packageRoot();
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
      .split('\0')
      .filter((f) => /\.(ts|js|mjs|json|md|ya?ml|css|html|sh)$/.test(f) || f === '.ci/run');
    expect(files.length).toBeGreaterThan(50);
    const marked = files.filter((f) => {
      const file = path.join(root, f);
      return fs.existsSync(file) && /^(<{7}|>{7}) /m.test(fs.readFileSync(file, 'utf8'));
    });
    expect(marked).toEqual([]);
  });
});
