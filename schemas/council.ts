import { z } from 'zod';
import { ARG, LIMITS, MegaKey } from './common.js';

// Kept lean on purpose: every field here costs every agent context in tools/list.
const Short = z.string().trim().min(1).max(LIMITS.key);
// Lengths of review lists and texts are checked by the domain (checkReview), not here.
const Strings = z.array(z.string());

export const SubjectSchema = z
  .strictObject({
    title: z.string().trim().min(1).max(LIMITS.name).describe('short title'),
    description: z.string().trim().min(1).max(LIMITS.text).describe('what and how'),
    points: z.number().min(0).max(1000).optional().describe(ARG.points),
    phase: z.union([z.number(), Short]).optional().describe(ARG.phase),
    mega: Short.optional().describe(ARG.mega),
    ticket: Short.optional().describe('Linear issue'),
  })
  .describe('the work to review');

// Scores and personas are checked by the domain (src/council/domain.ts) so errors name the review.
export const ReviewSchema = z.strictObject({
  persona: z.string().describe('chucky|oss_killer|archi|saul'),
  score: z.number().describe('1-10'),
  rationale: z.string().describe('why this score'),
  concerns: Strings.optional().describe('risks seen'),
  adjustments: Strings.optional().describe('required changes'),
});

export const RunCouncilInput = z.strictObject({
  subject: SubjectSchema,
  reviews: z.array(ReviewSchema).max(8).optional().describe('one per persona, or omit'),
});

const Posted = z.object({
  ok: z.boolean(),
  url: z.string().optional(),
  reason: z.string().optional(),
  message: z.string(),
});

export const RunCouncilOutput = z.object({
  status: z.enum(['decided', 'needs_reviews']),
  council_id: z.number().optional(),
  verdict: z.enum(['go', 'adjust', 'reject']).optional(),
  average: z.number().optional(),
  scores: z.record(z.string(), z.number()).optional(),
  adjustments: z.array(z.string()).optional(),
  sources: z.array(z.enum(['caller', 'sampling', 'command'])).optional(),
  self_reviewed: z.boolean().optional(),
  report_markdown: z.string().optional(),
  posted: Posted.optional(),
  personas: z.array(z.object({ id: z.string(), brief: z.string() })).optional(),
  message: z.string(),
});

export const SyncPlanInput = z.strictObject({
  key: MegaKey.describe('Linear MEGA issue, e.g. CAB-1290'),
});

const Ids = z.array(z.union([z.number(), z.string()]));
export const SyncPlanOutput = z.object({
  synced: z.boolean(),
  reason: z.string().optional(),
  mega: z.string().optional(),
  phases: z.number().optional(),
  done: z.number().optional(),
  ready: Ids.optional(),
  skipped_claimed: Ids.optional(),
  plan_markdown: z.string().optional(),
  message: z.string(),
});
