import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../helpers/git.js';
import { stdioAgent, type StdioAgent } from '../helpers/stdio.js';

// Issue 12, review: content rules read a file's diff, and git shows no diff for a file it takes as
// binary — a NUL byte in it, or `binary`/`-diff` in .gitattributes, both written by the agent (the
// .gitattributes change itself is Ship, a `config` file). Source with eval and raw SQL was then
// SHOW ("binary file, content not inspected") instead of ASK. Now a binary-looking file that
// content rules apply to is unread content: content_skipped, Ask.

let repo: TestRepo | null = null;
const open: StdioAgent[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((a) => a.close().catch(() => {})));
  repo?.remove();
  repo = null;
});

const RISKY = 'export function run(code: string) {\n  return eval(code);\n}\nconst q = "DELETE FROM users";\n';

async function classify(files: Record<string, string | Buffer>): Promise<{ level: string; reasons: { rule: string; level: string; message: string }[] }> {
  repo = makeRepo();
  const base = repo.git('rev-parse', 'HEAD').trim();
  repo.git('checkout', '-qb', 'feature');
  const head = repo.commit('the change', files);
  const a = await stdioAgent(path.join(repo.dir, '.factory', 'factory.db'), { cwd: repo.dir, env: { LINEAR_API_KEY: '', GITHUB_TOKEN: '' } });
  open.push(a);
  return a.call('classify_change', { base, head });
}

describe('risky source git shows as binary is not a harmless binary', () => {
  it('`*.ts -diff` in .gitattributes: ASK, content_skipped names the file and the rules that could not read it', async () => {
    const c = await classify({ '.gitattributes': '*.ts -diff\n', 'src/db.ts': RISKY });
    expect(c.level).toBe('ask');
    const skipped = c.reasons.find((r) => r.rule === 'content_skipped');
    expect(skipped?.level).toBe('ask');
    expect(skipped?.message).toContain('src/db.ts: shown as binary');
    expect(skipped?.message).toContain('eval');
    expect(skipped?.message).toContain('raw_sql');
    expect(c.reasons.map((r) => r.rule)).not.toContain('binary');
  });

  it('a NUL byte in a comment of the source file: ASK as well', async () => {
    const c = await classify({ 'src/db.ts': Buffer.concat([Buffer.from('// \0\n'), Buffer.from(RISKY)]) });
    expect(c.level).toBe('ask');
    expect(c.reasons.find((r) => r.rule === 'content_skipped')?.message).toContain('src/db.ts: shown as binary');
  });

  it('a real binary no content rule looks at stays SHOW', async () => {
    const c = await classify({ 'assets/logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 1, 2, 3]) });
    expect(c.level).toBe('show');
    expect(c.reasons.map((r) => r.rule)).toEqual(['binary']);
  });
});
