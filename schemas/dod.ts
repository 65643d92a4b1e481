import { z } from 'zod';
import { ARG, PassEnv } from './common.js';
import { DOD_STATUSES, warningMatcher } from '../src/dod/domain.js';
import { globSource } from '../src/core/glob.js';

const compiles = (pattern: string): boolean => {
  try {
    warningMatcher(pattern);
    return true;
  } catch {
    return false;
  }
};

export const DOD_CHECKS = ['compiles', 'tests', 'no_regressions', 'lint', 'format', 'no_secrets', 'pr_created', 'ci_green', 'state_updated', 'session_logged'] as const;
export const DodCheckId = z.enum(DOD_CHECKS);

/** A glob of src/core/glob.ts (the change rules' engine), checked at load: a malformed one names its field. */
const Glob = z
  .string()
  .min(1)
  .superRefine((g, ctx) => {
    try {
      globSource(g);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `bad glob ${JSON.stringify(g)}: ${(e as Error).message}` });
    }
  });

/** A command as an argv array (no shell), or false: the check does not apply to this component (skip). */
const CommandSpec = z.union([z.array(z.string().min(1)).min(1), z.literal(false)]);

export const DodComponentSchema = z.strictObject({
  name: z.string().min(1).max(64),
  paths: z.array(Glob).min(1).default(['**']).describe('globs of the files this component owns'),
  dir: z.string().default('.').describe('working directory of its commands, relative to the repository root'),
  commands: z.strictObject({ compiles: CommandSpec.optional(), tests: CommandSpec.optional(), lint: CommandSpec.optional(), format: CommandSpec.optional() }).prefault({}),
  after: z
    .array(z.enum(['compiles', 'lint', 'format']))
    .max(3)
    .default(['compiles'])
    .describe('checks whose success the test run (tests, no_regressions) waits for; [] runs it in parallel with them'),
  test_report: z.string().optional().describe('JUnit XML or vitest/jest JSON written by the test command (names regressions)'),
  warning_pattern: z
    .string()
    .default('\\bwarn(ing)?\\b')
    .refine((p) => compiles(p), { message: 'bad regular expression (RE2 syntax, linear time: no backreferences or lookaround)' })
    .describe('regex (RE2, case-insensitive) for a lint warning line'),
  timeout_seconds: z.int().min(1).max(7200).default(600),
  thresholds: z
    .strictObject({
      coverage_summary: z.string().optional().describe('istanbul json-summary file written by the tests'),
      min_coverage: z.number().min(0).max(100).optional().describe('minimum total line coverage, percent'),
      zero_warnings: z.boolean().default(false).describe('any lint warning fails, not only new ones'),
    })
    .prefault({}),
});
export type DodComponent = z.output<typeof DodComponentSchema>;

export const DodConfigSchema = z
  .strictObject({
    components: z.array(DodComponentSchema).default([]),
    base_branch: z.string().optional().describe('default branch for baselines and diffs (default: origin/HEAD, main, master)'),
    required_checks: z.array(z.string().min(1)).default([]).describe('CI checks that must succeed; empty: at least min_checks, all green'),
    min_checks: z.int().min(0).max(100).default(3),
    secrets: z.enum(['auto', 'secretlint', 'gitleaks', 'skip']).default('auto').describe('auto: gitleaks when on PATH, else secretlint'),
    concurrency: z.int().min(1).max(16).default(3).describe('commands run at once'),
    max_output_bytes: z
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    github: z.enum(['on', 'off']).default('on').describe('off: a repository without GitHub; pr_created and ci_green are skipped by config'),
    require_for_complete: z.boolean().default(false).describe('complete_phase needs a passing check_dod for the phase'),
    pass_env: PassEnv,
  })
  .prefault({});
export type DodConfig = z.output<typeof DodConfigSchema>;

export const CheckDodInput = z.strictObject({
  cwd: z.string().min(1).optional().describe(ARG.cwd),
  mega: z.string().min(1).max(64).optional().describe(ARG.mega),
  phase: z
    .union([z.int().min(0), z.string().min(1).max(64)])
    .optional()
    .describe('default: your one claim'),
  component: z.string().min(1).max(64).optional().describe('one configured component'),
  only: z.array(z.string()).min(1).max(10).optional().describe('check ids (then never passed)'),
  fresh: z.boolean().optional().describe('ignore cached results'),
});

export const DodStatus = z.enum(DOD_STATUSES);
export const DodCheckResultSchema = z.object({
  id: z.string(),
  status: DodStatus,
  duration_ms: z.number(),
  detail: z.string(),
  cached: z.boolean().optional(),
  /** A skip the config asked for (a command set to false, dod.github "off"…): the only skip that counts as done. */
  by_config: z.boolean().optional(),
});

export const CheckDodOutput = z.object({
  passed: z.boolean(),
  score: z.string(),
  checks: z.array(DodCheckResultSchema),
  cached: z.boolean(),
  detected: z.string().optional(),
  message: z.string(),
});
export type CheckDodResult = z.output<typeof CheckDodOutput>;
