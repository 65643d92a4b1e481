import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addedLines, clipDetail, type Verdict } from './domain.js';
import { runCommand } from '../integrations/run.js';

export interface Finding {
  file: string;
  line: number;
  rule: string;
}

const MAX_FILE = 2 * 1024 * 1024;

/**
 * secretlint with the recommended preset, AWS access key ids scanned too (the preset leaves them
 * off by default). Loaded on first use: it costs ~40 ms, which every server start would pay.
 */
let secretlintApi: Promise<{ lintSource: typeof import('@secretlint/core').lintSource; config: Parameters<typeof import('@secretlint/core').lintSource>[0]['options']['config'] }> | null = null;
function loadSecretlint() {
  secretlintApi ??= Promise.all([import('@secretlint/core'), import('@secretlint/secretlint-rule-preset-recommend')]).then(([core, preset]) => ({
    lintSource: core.lintSource,
    config: { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: preset.creator, rules: [{ id: '@secretlint/secretlint-rule-aws', options: { enableIDScanRule: true } }] }] },
  }));
  return secretlintApi;
}

/**
 * Scans the lines a change adds for secrets. Findings name the file, line and rule, never the
 * secret: rule messages (which quote it) are dropped.
 */
export async function scanSecrets(
  root: string,
  diff: string,
  mode: 'auto' | 'secretlint' | 'gitleaks',
  opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal | undefined },
): Promise<Verdict & { scanner: string }> {
  const added = addedLines(diff);
  const files = [...added.entries()].filter(([, lines]) => lines.size > 0);
  const useGitleaks = mode === 'gitleaks' || (mode === 'auto' && onPath('gitleaks', opts.env));
  const scanner = useGitleaks ? 'gitleaks' : 'secretlint';
  if (!files.length) return { status: 'pass', detail: 'no added lines to scan', scanner };
  const findings = useGitleaks
    ? await gitleaks(
        root,
        files.map(([f]) => f),
        opts,
      )
    : await secretlint(
        root,
        files.map(([f]) => f),
      );
  const inChange = findings.filter((f) => added.get(f.file)?.has(f.line));
  if (!inChange.length) return { status: 'pass', detail: `${scanner}: no secrets in ${files.length} changed file(s)`, scanner };
  const list = inChange.slice(0, 10).map((f) => `${f.file}:${f.line} (${f.rule})`);
  return {
    status: 'fail',
    detail: clipDetail(`${scanner}: ${inChange.length} secret(s) added: ${list.join(', ')}${inChange.length > 10 ? ', …' : ''} — remove them and rotate the credentials`),
    scanner,
  };
}

function readSmallText(root: string, file: string): string | null {
  const p = path.join(root, file);
  try {
    const st = fs.statSync(p);
    if (!st.isFile() || st.size > MAX_FILE) return null;
    const buf = fs.readFileSync(p);
    return buf.includes(0) ? null : buf.toString('utf8');
  } catch {
    return null;
  }
}

async function secretlint(root: string, files: string[]): Promise<Finding[]> {
  const out: Finding[] = [];
  const { lintSource, config } = await loadSecretlint();
  for (const file of files) {
    const content = readSmallText(root, file);
    if (content === null) continue;
    const r = await lintSource({ source: { content, filePath: path.join(root, file), contentType: 'text' }, options: { config, maskSecrets: true } });
    for (const m of r.messages) if (m.type === 'message') out.push({ file, line: m.loc.start.line, rule: `${m.ruleId.replace('@secretlint/secretlint-rule-', '')}/${m.messageId}` });
  }
  return out;
}

async function gitleaks(root: string, files: string[], { env, signal }: { env: NodeJS.ProcessEnv; signal?: AbortSignal | undefined }): Promise<Finding[]> {
  // Only the changed files, copied to a temp dir so that gitleaks sees nothing else.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-dod-leaks-'));
  try {
    for (const f of files) {
      const content = readSmallText(root, f);
      if (content === null) continue;
      fs.mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true });
      fs.writeFileSync(path.join(tmp, f), content);
    }
    const report = path.join(tmp, '.gitleaks-report.json');
    const r = await runCommand(['gitleaks', 'detect', '--no-git', '--redact', '--no-banner', '--exit-code', '0', '--source', tmp, '--report-format', 'json', '--report-path', report], {
      cwd: tmp,
      timeoutMs: 120_000,
      env,
      signal,
    });
    if (r.spawnError || r.exitCode !== 0) throw new Error(`gitleaks failed: ${r.spawnError ?? r.stderr.split('\n')[0]}`);
    const rows = JSON.parse(fs.readFileSync(report, 'utf8')) as { File: string; StartLine: number; RuleID: string }[];
    return rows.map((x) => ({ file: path.relative(tmp, path.resolve(tmp, x.File)), line: x.StartLine, rule: x.RuleID }));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function onPath(bin: string, env: NodeJS.ProcessEnv): boolean {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, bin))) return true;
  }
  return false;
}
