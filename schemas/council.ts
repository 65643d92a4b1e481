import { z } from 'zod';
import { LIMITS, MegaKey, PhaseIdSchema } from './common.js';

export const SubjectSchema = z.strictObject({
  title: z.string().trim().min(1).max(LIMITS.name),
  description: z.string().trim().min(1).max(LIMITS.text),
  points: z.number().min(0).max(1000).optional(),
  phase: PhaseIdSchema.optional(),
  mega: MegaKey.optional(),
  ticket: z.string().trim().min(1).max(LIMITS.ticket).optional().describe('Linear issue for the report, e.g. CAB-123'),
});

// Scores and personas are checked by the domain (src/domain/council.ts) so errors name the review.
export const ReviewSchema = z.strictObject({
  persona: z.string().describe('chucky, oss_killer, archi or saul'),
  score: z.number().describe('1-10'),
  rationale: z.string().max(LIMITS.text),
  concerns: z.array(z.string().max(LIMITS.name * 5)).max(50).default([]),
  adjustments: z.array(z.string().max(LIMITS.name * 5)).max(50).default([]),
});

export const RunCouncilInput = z.strictObject({
  subject: SubjectSchema,
  reviews: z.array(ReviewSchema).max(8).optional().describe('all four personas; omit to let the server ask'),
});

const Posted = z.object({
  ok: z.boolean(),
  url: z.string().optional(),
  reason: z.string().optional(),
  queued: z.boolean().optional(),
  message: z.string(),
});

export const RunCouncilOutput = z.object({
  status: z.enum(['decided', 'needs_reviews']),
  council_id: z.number().optional(),
  verdict: z.enum(['go', 'adjust', 'reject']).optional(),
  average: z.number().optional(),
  scores: z.record(z.string(), z.number()).optional(),
  adjustments: z.array(z.string()).optional(),
  source: z.string().optional(),
  report_markdown: z.string().optional(),
  resource: z.string().optional(),
  posted: Posted.optional(),
  personas: z.array(z.object({ id: z.string(), name: z.string(), brief: z.string() })).optional(),
  message: z.string(),
});

export const SyncPlanInput = z.strictObject({
  key: MegaKey.describe('Linear MEGA issue, e.g. CAB-1290'),
});

export const SyncPlanOutput = z.object({
  synced: z.boolean(),
  reason: z.string().optional(),
  mega: z.string().optional(),
  phases: z.number().optional(),
  done: z.number().optional(),
  ready: z.array(z.union([z.number(), z.string()])).optional(),
  skipped_claimed: z.array(z.union([z.number(), z.string()])).optional(),
  plan_markdown: z.string().optional(),
  message: z.string(),
});
