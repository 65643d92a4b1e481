import { z } from 'zod';
import { CheckpointBrief } from './sessions.js';
import { ARG, LIMITS, LeaseSeconds, MegaKey, PhaseIdSchema, PhaseRefSchema, ReserveFiles, ReservedBySchema, Token } from './common.js';
import { WorktreeCleanupSchema } from './worktrees.js';

const ReasonText = z.string().max(LIMITS.name);

export const PlanMegaInput = z.strictObject({
  key: MegaKey.describe('MEGA key, e.g. CAB-1290'),
  title: z.string().trim().min(1).max(LIMITS.name).describe('MEGA title'),
  phases: z
    .array(
      z.strictObject({
        id: PhaseIdSchema.describe('unique in the MEGA'),
        name: z.string().trim().min(1).max(LIMITS.name).describe('short title'),
        points: z.number().min(0).max(1000).optional().describe(ARG.points),
        tickets: z.array(z.string().min(1).max(LIMITS.ticket)).max(LIMITS.tickets).optional().describe('tracker issue keys'),
        deps: z.array(PhaseIdSchema).max(LIMITS.deps).optional().describe('ids done first'),
      }),
    )
    .min(1)
    .max(LIMITS.phases)
    .describe('units of work, one owner each'),
  source: z.string().max(LIMITS.name).optional().describe('e.g. a Linear URL'),
});

export const PlanMegaOutput = z.object({
  mega: z.string(),
  phases: z.number().describe('phase count'),
  created: z.boolean(),
  removed: z.array(z.union([z.number(), z.string()])),
  ready: z.array(z.union([z.number(), z.string()])),
});

export const ClaimReasonSchema = z.enum([
  'already_claimed',
  'already_completed',
  'deps_unmet',
  'council_required',
  'kill_switch',
  'cost_cap',
  'no_ready_phase',
  'parked',
  'interrupted',
  'files_reserved',
]);

export const ClaimPhaseInput = z.strictObject({
  mega: MegaKey.optional().describe('omit: any MEGA'),
  phase: PhaseIdSchema.optional().describe('omit: next ready'),
  lease_seconds: LeaseSeconds.optional(),
  files: ReserveFiles.optional(),
  worktree: z.boolean().optional().describe('own git worktree'),
});

export const ClaimResultSchema = z.object({
  claimed: z.boolean(),
  phase: PhaseRefSchema.optional(),
  token: z.string().optional(),
  lease_expires_at: z.string().optional(),
  reason: ClaimReasonSchema.optional(),
  owner: z.string().optional(),
  unmet_deps: z.array(z.union([z.number(), z.string()])).optional(),
  remaining: z.number().optional().describe('phases not yet done in scope; 0 = all done'),
  tickets: z
    .object({ status: z.enum(['queued', 'not_updated']), reason: z.string().optional() })
    .optional()
    .describe('Linear: the tickets moving to started'),
  files: z.array(z.string()).optional().describe('globs this claim reserves'),
  reserved_by: z.array(ReservedBySchema).optional(),
  warnings: z.array(z.string()).optional(),
  branch: z.string().optional(),
  worktree: z.string().optional().describe('absolute path: work there'),
  worktree_error: z.string().optional().describe('the claim holds; the worktree failed'),
  message: z.string(),
});

/** The fields naming a claim you hold, described once for every tool that takes them. */
export const TokenInputShape = {
  mega: MegaKey.describe(ARG.mega),
  phase: PhaseIdSchema.describe(ARG.phase),
  token: Token.describe(ARG.token),
};

export const HeartbeatInput = z.strictObject(TokenInputShape);
export const TokenRefusalSchema = z.enum(['stale_token', 'not_claimed', 'not_owner']);
export const HeartbeatOutput = z.object({
  ok: z.boolean(),
  lease_expires_at: z.string().optional(),
  reason: TokenRefusalSchema.optional(),
  owner: z.string().optional(),
  message: z.string(),
});

export const CompletePhaseInput = z.strictObject({
  ...TokenInputShape,
  chain: z.boolean().optional().describe('then claim the next ready one'),
  lease_seconds: LeaseSeconds.optional().describe("chained claim's"),
});
export const CompletePhaseOutput = z.object({
  completed: z.boolean(),
  phase: PhaseRefSchema.optional(),
  reason: z.enum(['stale_token', 'not_claimed', 'not_owner', 'kill_switch', 'dod_not_passed', 'awaiting_human']).optional(),
  owner: z.string().optional(),
  next: ClaimResultSchema.optional(),
  worktree: WorktreeCleanupSchema.optional(),
  message: z.string(),
});

export const ReleasePhaseInput = z.strictObject({
  ...TokenInputShape,
  reason: ReasonText.min(1).describe('why (logged)'),
});
export const ReleasePhaseOutput = z.object({
  released: z.boolean(),
  reason: TokenRefusalSchema.optional(),
  owner: z.string().optional(),
  worktree: WorktreeCleanupSchema.optional(),
  message: z.string(),
});

export const BoardInput = z.strictObject({
  mega: MegaKey.optional().describe('one MEGA; omit for all'),
  cursor: z.string().max(512).optional().describe("next page: the last answer's cursor"),
  limit: z.int().min(1).max(500).optional().describe('page size (default 100)'),
});
export const BoardPhaseSchema = PhaseRefSchema.extend({
  status: z.enum(['ready', 'blocked', 'claimed', 'done']),
  owner: z.string().nullable(),
  owner_state: z.enum(['parked', 'interrupted']).optional().describe('owner gone: resume adopts'),
  resume: z.string().optional(),
  claimed_at: z.string().nullable(),
  lease_expires_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  completed_by: z.string().nullable(),
  waits_on: z
    .array(z.union([z.number(), z.string()]))
    .optional()
    .describe('blocked: the unfinished deps'),
  checkpoint: CheckpointBrief.nullable().optional(),
  files: z.array(z.string()).optional().describe('globs the claim reserves'),
});
export const BoardMegaSchema = z.object({
  key: z.string(),
  title: z.string(),
  source: z.string().nullable(),
  total: z.number(),
  done: z.number(),
  claimed: z.number(),
  ready: z.number(),
  blocked: z.number(),
  points_total: z.number(),
  points_done: z.number(),
  owners: z.array(z.object({ instance: z.string(), phases: z.number() })).describe('who holds its claims (at most 20)'),
  phases: z.array(BoardPhaseSchema).optional().describe('a page of them with mega; without, only on a small board'),
});
export const BoardOutput = z.object({
  autonomy: z.number().optional().describe('autonomy level 1-5 from config'),
  megas: z.array(BoardMegaSchema),
  megas_total: z.number().describe('MEGAs planned in all'),
  cursor: z.string().optional().describe('pass it back for the next page; absent on the last'),
});
