import type { ServiceContext } from '../core/context.js';
import { listWorktrees, type WorktreeEntry } from '../pipeline/worktrees.js';

export const WORKTREES_USAGE = `factory-mcp worktrees [--prune] [--json] [--db FILE]

Lists the worktrees under .factory/worktrees that claims made (phases.worktrees in the config, or
claim_phase {worktree: true}) with their phase, whether it is claimed, uncommitted files
(untracked ones count), commits neither pushed nor merged, and whether the branch is merged.
  --prune   remove the safe ones — phase no longer claimed, nothing uncommitted, every commit
            pushed or merged — with git worktree remove and git branch -d; the rest are kept
            and the reason is printed. Nothing is ever forced.
  --json    the list as JSON`;

export const WORKTREES_OPTIONS = { prune: { type: 'boolean' }, json: { type: 'boolean' } } as const;

function line(e: WorktreeEntry, prune: boolean): string {
  const who = e.mega !== null ? `${e.mega}/${e.phase} ${e.status}${e.owner ? ` by ${e.owner}` : ''}` : 'no phase';
  const dirty = e.dirty.length ? `${e.dirty.length} uncommitted` : 'clean';
  const pushed = e.unpushed.length ? `${e.unpushed.length} unpushed` : 'pushed';
  const head = `${e.branch}  ${who}  ${dirty}, ${pushed}${e.merged ? ', merged' : ''}${e.exists ? '' : ', no worktree'}\n  ${e.path}`;
  const verdict = prune ? (e.pruned ? 'removed' : `kept: ${e.reason}`) : e.safe ? 'safe to prune' : `keep: ${e.reason}`;
  return `${head}\n  ${verdict}`;
}

/** `factory-mcp worktrees [--prune] [--json]`: exit 0 (kept worktrees are reported, not failures). */
export async function worktreesCommand(ctx: ServiceContext, v: Record<string, unknown>): Promise<number> {
  const prune = v.prune === true;
  const list = await listWorktrees(ctx, { prune });
  if (v.json) process.stdout.write(`${JSON.stringify({ worktrees: list }, null, 2)}\n`);
  else if (!list.length) process.stdout.write('No worktrees under .factory/worktrees.\n');
  else process.stdout.write(`${list.map((e) => line(e, prune)).join('\n')}\n`);
  return 0;
}
