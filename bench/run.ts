/** `npm run bench`: every benchmark, each printing ratios to its floor measured in the same run. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches = ['phases', 'pg', 'board', 'http', 'sessions', 'council', 'classify', 'dod', 'worktrees', 'merge'];
const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const b of only.length ? only : benches) {
  console.log(`\n## ${b}`);
  // Each in its own process, so one bench's warm caches and garbage do not tilt the next.
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(`./${b}.js`, import.meta.url)), ...process.argv.slice(2).filter((a) => a.startsWith('-'))], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
