import { z } from 'zod';
import { LEVELS } from '../src/changes/rules.js';
import { ClaimResultSchema, TokenInputShape } from './phases.js';
import { SizeSchema } from './changes.js';

/** merge_phase: your claimed phase's pull request, squash-merged when every gate holds (src/pipeline/merge.ts). */
export const MergePhaseInput = z.strictObject({
  ...TokenInputShape,
  chain: z.boolean().optional().describe('then claim next'),
  pr: z
    .union([
      z.int().min(1).max(1_000_000_000),
      z
        .string()
        .min(1)
        .max(255)
        .regex(/^[^\s\p{C}:~^?*[\\]+$/u, 'a branch name: no spaces, control characters or : ~ ^ ? * [ \\'),
    ])
    .optional()
    .describe('PR number or head branch'),
});

export const GATES = ['kill_switch', 'autonomy', 'dod', 'change', 'council', 'files'] as const;

export const MergeGateSchema = z.object({ gate: z.enum(GATES), state: z.enum(['pass', 'fail', 'wait']), detail: z.string() });

export const MergeRefusalSchema = z.enum([
  'stale_token',
  'not_claimed',
  'not_owner',
  'no_github',
  'no_pull_request',
  'kill_switch',
  'dry_run',
  'dod_not_passed',
  'not_classified',
  'awaiting_human',
  'council_required',
  'github_refused',
  'wrong_base',
  'files_reserved',
]);

export const MergePhaseOutput = z.object({
  merged: z.boolean(),
  pr: z.number().optional(),
  url: z.string().optional(),
  head: z.string().optional(),
  merge_commit: z.string().optional(),
  level: z.enum(LEVELS).optional(),
  size: SizeSchema.optional(),
  gates: z.array(MergeGateSchema),
  reason: MergeRefusalSchema.optional(),
  owner: z.string().optional(),
  completed: z.boolean().optional(),
  next: ClaimResultSchema.optional(),
  tickets: z.object({ status: z.enum(['queued', 'not_updated']), reason: z.string().optional() }).optional(),
  message: z.string(),
});

export type MergePhaseArgs = z.output<typeof MergePhaseInput>;
export type MergePhaseResult = z.output<typeof MergePhaseOutput>;
export type MergeGate = z.output<typeof MergeGateSchema>;
