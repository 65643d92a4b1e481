import { z } from 'zod';
import { INTERRUPTIONS, MEMORY_SECTIONS } from '../src/sessions/domain.js';
import { ARG, JsonObject, LIMITS, MegaKey, PhaseIdSchema, ReservedBySchema, Token } from './common.js';

const Text = z.string().trim().min(1).max(LIMITS.text);
const Items = z.array(z.string().max(1000)).max(200);
const PhaseIdOut = z.union([z.number(), z.string()]);

export const InstanceId = z.string().regex(/^t\d{4,9}$/, 'an instance id looks like t4821');

export const SessionStartInput = z.strictObject({
  agent: z.string().trim().min(1).max(LIMITS.name).optional().describe('your client, e.g. claude-code'),
  resume: z
    .union([z.literal(true), InstanceId])
    .optional()
    .describe('adopt claims of this instance, or of all (true)'),
});

/** Compact on purpose (tools/list budget): the fields are listed in the description and kept by looseObject. */
export const CheckpointBrief = z.looseObject({ percent: z.number().nullable(), next: z.array(z.string()) }).describe('checkpoint: also done[], files[], note, at, by');
const CrashedSession = z.looseObject({ instance: z.string(), why: z.enum(INTERRUPTIONS) }).describe('also agent, last_seen, last_checkpoint, phases[] (mega, id, name, lease_expires_at, checkpoint)');

export const SessionStartOutput = z.object({
  instance: z.string(),
  crashed: z.array(CrashedSession),
  crashed_total: z.number().describe('crashed lists the latest 20'),
  resumed: z.array(
    z.object({
      from: z.string(),
      phases: z.array(z.looseObject({ mega: z.string(), id: PhaseIdOut, token: z.string() }).describe('also name, lease_expires_at, checkpoint')),
    }),
  ),
  autonomy: z.number(),
  kill_switch: z.boolean(),
  message: z.string(),
});

export const SessionEndInput = z.strictObject({
  summary: z.string().trim().min(1).max(LIMITS.text).optional().describe('what this session did'),
  release: z.boolean().optional().describe('release claims, not park them'),
});
export const SessionEndOutput = z.object({
  ended: z.boolean(),
  released: z.array(z.object({ mega: z.string(), id: PhaseIdOut })),
  kept: z.array(z.object({ mega: z.string(), id: PhaseIdOut })),
  message: z.string(),
});

export const CheckpointInput = z.strictObject({
  mega: MegaKey.optional().describe(ARG.mega),
  phase: PhaseIdSchema.optional().describe('your claimed phase'),
  token: Token.optional().describe('required with phase'),
  progress: z
    .strictObject({
      done: Items.describe('steps finished'),
      next: Items.describe('steps left'),
      percent: z.number().min(0).max(100).optional().describe('0-100'),
      files: z.array(z.string().max(1000)).max(500).optional().describe('files touched'),
    })
    .describe('where the work stands'),
  note: Text.optional().describe('for whoever resumes'),
  files: z.array(z.string()).optional().describe('more globs to reserve'),
});
export const CheckpointOutput = z.object({
  saved: z.boolean(),
  checkpoint_id: z.number().optional(),
  reason: z.enum(['stale_token', 'not_claimed', 'not_owner', 'files_reserved']).optional(),
  owner: z.string().optional(),
  files: z.array(z.string()).optional().describe("the claim's reserved globs"),
  reserved_by: z.array(ReservedBySchema).optional(),
  warnings: z.array(z.string()).optional(),
  message: z.string(),
});

export const MemorySection = z.enum(MEMORY_SECTIONS);
export const MemoryInput = z.strictObject({
  op: z.enum(['read', 'append']).describe('append needs section and text'),
  section: MemorySection.optional().describe('filters read'),
  text: Text.optional().describe('the entry'),
  limit: z.int().min(1).max(500).optional().describe('latest N entries'),
});
export const MemoryEntrySchema = z.object({ id: z.number(), section: MemorySection, text: z.string(), author: z.string(), at: z.string() });
export const MemoryOutput = z.object({ entries: z.array(MemoryEntrySchema), appended: z.number().optional() });

/** Kinds the server writes itself; log_operation may not forge them (the DoD check and the audit trail read them). */
export const RESERVED_KINDS = [
  'session_start',
  'session_end',
  'plan',
  'replan',
  'claim',
  'release',
  'complete',
  'checkpoint',
  'memory',
  'usage',
  'resume',
  'council',
  'classify',
  'dod',
  'ack',
  'config_weakened',
] as const;
export const LogOperationInput = z.strictObject({
  kind: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,39}$/, 'snake_case, up to 40 characters')
    .describe('snake_case: deploy, test_run, note…'),
  message: z.string().trim().min(1).max(LIMITS.text).describe('what happened'),
  mega: MegaKey.optional().describe(ARG.mega),
  phase: PhaseIdSchema.optional().describe(ARG.phase),
  data: JsonObject.optional().describe('details as JSON'),
});
export const LogOperationOutput = z.object({ seq: z.number(), message: z.string() });

export const RecordUsageInput = z.strictObject({
  tokens: z.int().min(0).max(1e10).describe('tokens used'),
  cost_usd: z.number().min(0).max(1e6).describe('their cost'),
  model: z.string().trim().min(1).max(LIMITS.key).optional().describe('model name'),
});
export const RecordUsageOutput = z.object({
  recorded: z.boolean(),
  session_cost_usd: z.number(),
  today_cost_usd: z.number(),
  daily_cap_usd: z.number().nullable(),
  cap_reached: z.boolean(),
  message: z.string(),
});

/** A claim file as agents wrote them before factory-mcp: `{mega, phases:[{id, name, tickets, owner, claimed_at, deps, completed_at}]}`. */
const Stamp = z
  .union([z.string().min(1), z.number()])
  .nullable()
  .optional();
export const ClaimFileSchema = z.object({
  mega: MegaKey,
  title: z.string().trim().min(1).max(LIMITS.name).optional(),
  source: z.string().max(LIMITS.name).optional(),
  phases: z
    .array(
      z.object({
        id: PhaseIdSchema,
        name: z.string().trim().min(1).max(LIMITS.name),
        points: z.number().min(0).max(1000).nullable().optional(),
        tickets: z.array(z.string().min(1).max(LIMITS.ticket)).max(LIMITS.tickets).optional(),
        deps: z.array(PhaseIdSchema).max(LIMITS.deps).optional(),
        owner: z.string().max(LIMITS.name).nullable().optional(),
        claimed_at: Stamp,
        completed_at: Stamp,
      }),
    )
    .min(1)
    .max(LIMITS.phases),
});
export type ClaimFile = z.output<typeof ClaimFileSchema>;
