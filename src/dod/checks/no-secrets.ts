/** no_secrets: no secret in the lines the change adds (gitleaks when on PATH, else secretlint; dod.secrets). */
import { configSkip, internalError, type CheckResult, type Verdict } from '../domain.js';
import { diffText } from '../repo.js';
import { scanSecrets } from '../secrets.js';
import { configKey, type RepoCheck, type Run } from './check.js';

async function scan(run: Run): Promise<Verdict> {
  const mode = run.config.dod.secrets;
  if (mode === 'skip') return configSkip('does not apply (dod.secrets is "skip")');
  if (!run.base) return { status: 'error', detail: run.noBase };
  const { status, detail } = await scanSecrets(run.root, await diffText(run.root, run.base, run.tree), mode, { env: run.env, signal: run.signal }); // the detail names the scanner
  return { status, detail };
}

async function noSecrets(run: Run): Promise<CheckResult> {
  const key = configKey({ secrets: run.config.dod.secrets });
  const hit = await run.cached('*', 'no_secrets', key);
  if (hit) return { id: 'no_secrets', ...hit, cached: true };
  const t0 = Date.now();
  let v: Verdict & { duration_ms: number };
  try {
    v = { ...(await scan(run)), duration_ms: Date.now() - t0 };
  } catch (e) {
    v = { ...internalError(e), duration_ms: Date.now() - t0 };
  }
  const r: CheckResult = { id: 'no_secrets', ...v, cached: false };
  if (v.status === 'pass') run.keep('*', 'no_secrets', key, r);
  return r;
}

export const secrets: RepoCheck = {
  per: 'repository',
  ids: ['no_secrets'],
  tree: true,
  start: (run) => ({ no_secrets: noSecrets(run) }),
};
