import { z } from 'zod';

const CommitSchema = z.object({ sha: z.string(), subject: z.string() });

/** What complete_phase and release_phase did with the phase's worktree and branch. */
export const WorktreeCleanupSchema = z.object({
  branch: z.string(),
  path: z.string(),
  state: z.enum(['removed', 'kept']),
  reason: z.string().optional().describe('why it was kept'),
  dirty: z.array(z.string()).optional().describe('uncommitted paths'),
  commits: z.array(CommitSchema).optional().describe('commits neither pushed nor merged'),
});

/** One worktree of `factory-mcp worktrees --json`. */
export const WorktreeEntrySchema = z.object({
  branch: z.string(),
  path: z.string(),
  exists: z.boolean(),
  mega: z.string().nullable(),
  phase: z.string().nullable(),
  status: z.enum(['claimed', 'released', 'completed', 'unknown']),
  owner: z.string().nullable(),
  dirty: z.array(z.string()),
  unpushed: z.array(CommitSchema),
  merged: z.boolean(),
  safe: z.boolean(),
  reason: z.string().nullable(),
  pruned: z.boolean().optional(),
});
