import fs from 'node:fs';
import type { TestProject } from 'vitest/node';

/**
 * vitest globalSetup: the run's temp folder (vitest.config.ts makes it and hands it to every test
 * process as TMPDIR, which what they spawn inherits) must be empty when the run ends; a test that
 * leaves a folder or file in the temp dir is named here, and the folder goes either way.
 */
export default function setup(project: TestProject): () => void {
  const dir = project.config.env.TMPDIR;
  return () => {
    if (!dir || !fs.existsSync(dir)) return;
    const left = fs.readdirSync(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    if (!left.length) return;
    process.stderr.write(`\nFAIL tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the temp dir (remove them in afterEach/afterAll): ${left.join(', ')}\n`);
    process.exitCode = 1; // vitest reports a teardown error but does not fail the run for it
  };
}
