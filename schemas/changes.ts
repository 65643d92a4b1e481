import { z } from 'zod';
import {
  ACTIONS,
  FILE_STATUSES,
  INTENTS,
  LEVELS,
  RuleError,
  SIZE_TIERS,
  compileRules,
  DEFAULT_MAX_CONTENT_LENGTH,
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_LINES,
  DEFAULT_SIZE_EXCLUDE,
  DEFAULT_SIZE_TIERS,
} from '../src/changes/rules.js';
import { TokenRefusalSchema } from './phases.js';
import { ARG } from './common.js';

const Glob = z.string().min(1).max(500);

/** One rule in factory.config.json `changes.rules`: a new rule, or an override of a built-in one by id. */
export const RuleConfigSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a rule id is letters, digits, "_", "." or "-"'),
  level: z.enum(LEVELS).optional(),
  description: z.string().max(200).optional(),
  paths: z.array(Glob).min(1).max(200).optional().describe('globs: ** any directories, * any name part, ? one character, {a,b} alternatives'),
  exclude: z.array(Glob).max(200).optional(),
  pattern: z.string().min(1).max(2000).optional().describe('regular expression on added lines (RE2 syntax: no backreferences or lookaround)'),
  removed_pattern: z.string().min(1).max(2000).optional().describe('regular expression on removed lines (RE2 syntax)'),
  ignore_case: z.boolean().optional(),
});

const CHANGES_DEFAULTS = {
  max_lines: DEFAULT_MAX_LINES,
  size_tiers: { ...DEFAULT_SIZE_TIERS },
  size_exclude: [...DEFAULT_SIZE_EXCLUDE],
  max_line_length: DEFAULT_MAX_LINE_LENGTH,
  max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
  rules: [],
  remove: [],
  ask_blocks_complete: true,
};

/** factory.config.json `changes`: Ship/Show/Ask rules added, overridden or removed by id; every rule is compiled at load. */
export const ChangesConfigSchema = z
  .strictObject({
    max_lines: z.int().min(1).max(10_000_000).default(DEFAULT_MAX_LINES).describe('more changed lines than this: tier xl, ask (too_large: split the change)'),
    size_tiers: z
      .strictObject({ s: z.int().min(1).describe('fewer lines: tier s'), m: z.int().min(1).describe('fewer lines: tier m (up to max_lines: l)') })
      .default({ ...DEFAULT_SIZE_TIERS })
      .describe('PR size tiers by changed lines'),
    size_exclude: z
      .array(Glob)
      .max(200)
      .default([...DEFAULT_SIZE_EXCLUDE])
      .describe('globs of files whose lines do not count towards the size (lockfiles, generated output)'),
    ask_blocks_complete: z.boolean().default(true).describe("complete_phase waits (awaiting_human) while the phase's latest Ask classification is unacknowledged"),
    max_line_length: z.int().min(80).max(1_000_000).default(DEFAULT_MAX_LINE_LENGTH).describe('longer changed lines are not inspected by content rules (content_skipped)'),
    max_content_length: z
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .default(DEFAULT_MAX_CONTENT_LENGTH)
      .describe('characters of changed lines content rules inspect per classification; the rest is content_skipped'),
    rules: z.array(RuleConfigSchema).max(500).default([]),
    remove: z.array(z.string().min(1).max(64)).max(500).default([]).describe('ids of built-in rules to drop'),
  })
  .superRefine((c, ctx) => {
    try {
      compileRules(c);
    } catch (e) {
      if (!(e instanceof RuleError)) throw e;
      ctx.addIssue({ code: 'custom', path: e.path, message: e.message });
    }
  })
  .default(CHANGES_DEFAULTS);

// Tool schemas are kept lean (every byte of tools/list costs every agent on every session): limits that
// only guard against runaway input are checked by the service (revisions, sizes) or the store (phase).
const Count = z.number().min(0);

export const ChangedFileInput = z.strictObject({
  path: z.string().min(1).describe('repository-relative'),
  additions: Count.describe('lines added'),
  deletions: Count.describe('lines removed'),
  status: z.enum(FILE_STATUSES).optional().describe('default: modified'),
  old_path: z.string().optional().describe('renamed from'),
});

export const ClassifyChangeInput = z.strictObject({
  cwd: z.string().optional().describe(ARG.cwd),
  base: z.string().optional().describe('default: merge base'),
  head: z.string().optional().describe('default: working tree'),
  files: z.array(ChangedFileInput).optional().describe('instead of git'),
  diff: z.string().optional().describe('unified diff'),
  intent: z.enum(INTENTS).optional().describe('what the change is for'),
  mega: z.string().optional().describe('+phase+token: store it'),
  phase: z.union([z.number(), z.string()]).optional().describe(ARG.phase),
  token: z.string().optional().describe(ARG.token),
});

const Level = z.enum(LEVELS);

export const ReasonSchema = z.object({ level: Level, rule: z.string(), files: z.array(z.string()), message: z.string() });

export const ClassificationStatsSchema = z.object({ files: z.number(), additions: z.number(), deletions: z.number(), renames: z.number() });

export const SizeSchema = z.object({ lines: z.number(), tier: z.enum(SIZE_TIERS) });

export const ClassifyChangeOutput = z.object({
  level: Level,
  action: z.enum(Object.values(ACTIONS) as [string, ...string[]]),
  reasons: z.array(ReasonSchema),
  stats: ClassificationStatsSchema,
  size: SizeSchema,
  base: z.string().optional(),
  head: z.string().nullable().optional(),
  stored: z.boolean().optional(),
  reason: TokenRefusalSchema.optional(),
  message: z.string(),
});

export type ClassifyChangeArgs = z.output<typeof ClassifyChangeInput>;
export type ClassifyChangeResult = z.output<typeof ClassifyChangeOutput>;
