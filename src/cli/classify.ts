import path from 'node:path';
import { ClassifyChangeInput } from '../../schemas/changes.js';
import { formatIssues } from '../../schemas/common.js';
import { findRepoRoot, loadConfig } from '../core/config.js';
import { InputError } from '../core/errors.js';
import { LEVELS, type Level } from '../changes/rules.js';
import { classifyChange, renderClassification } from '../changes/service.js';
import type { labelPullRequest } from '../changes/labels.js';

const EXIT: Record<Level, number> = { ship: 0, show: 10, ask: 20 };

/**
 * `factory-mcp classify`: the verdict on stdout (text or --json), the exit code 0/10/20 for
 * ship/show/ask, 3 when --label could not label. Input errors throw InputError (exit 2).
 */
export async function classifyCommand(v: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<number> {
  const cwd = (v.cwd as string | undefined) ?? process.cwd();
  const root = findRepoRoot(cwd);
  const config = loadConfig(root);
  const parsed = ClassifyChangeInput.safeParse({ cwd: path.resolve(cwd), base: v.base, head: v.head, intent: v.intent });
  if (!parsed.success) throw new InputError(`--${String(parsed.error.issues[0]?.path[0] ?? 'input')}`, formatIssues(parsed.error));
  const out = await classifyChange({ root, config, clock: Date.now, env }, parsed.data);
  let code = EXIT[out.level];
  let labelled: Awaited<ReturnType<typeof labelPullRequest>> | undefined;
  let labelError: string | undefined;
  if (v.label) {
    const { labelPullRequest, LabelError } = await import('../changes/labels.js'); // octokit only when labelling
    try {
      labelled = await labelPullRequest(root, { label: out.level, family: LEVELS, github: config.github, env });
    } catch (e) {
      if (!(e instanceof LabelError)) throw e;
      labelError = e.message;
      code = 3;
    }
  }
  if (v.json) process.stdout.write(`${JSON.stringify({ ...out, ...(labelled ? { label: labelled } : {}), ...(labelError ? { label_error: labelError } : {}) }, null, 2)}\n`);
  else {
    const lines = renderClassification(out);
    if (labelled)
      lines.push(
        `labelled ${labelled.owner}/${labelled.repo}#${labelled.number} ${out.level}${labelled.removed.length ? ` (removed ${labelled.removed.join(', ')})` : ''}${labelled.added.length ? '' : ' (already labelled)'}`,
      );
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (labelError) process.stderr.write(`factory-mcp classify: --label: ${labelError}\n`);
  return code;
}
