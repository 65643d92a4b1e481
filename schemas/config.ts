import { z } from 'zod';
import { DodConfigSchema } from './dod.js';
import { REVIEW_SOURCES, type ReviewSource } from '../src/council/domain.js';
import { DEFAULT_KILL_FILE } from '../src/governance/domain.js';
import { PassEnv } from './common.js';

const ReviewSourceSchema = z.enum(REVIEW_SOURCES as [ReviewSource, ...ReviewSource[]]);

const PersonaOverride = z.strictObject({
  name: z.string().min(1).optional(),
  role: z.string().min(1).optional(),
  focus: z.array(z.string().min(1)).min(1).optional(),
  low_score: z.string().min(1).optional().describe('what earns a low score'),
  extra: z.string().min(1).optional().describe('text appended to the brief'),
});

/** The Council (issue 5): thresholds, the claim gate, where reviews come from, Linear posting. */
export const CouncilConfigSchema = z
  .strictObject({
    go_threshold: z.number().min(1).max(10).default(8),
    adjust_threshold: z.number().min(1).max(10).default(6),
    gate_points: z.number().min(0).default(5).describe('phases above this many points need a go/adjust council before claim_phase'),
    reviewer_command: z.array(z.string().min(1)).min(1).optional().describe('argv run once per persona: brief on stdin, review JSON on stdout'),
    reviewer_timeout_ms: z.int().min(100).max(600_000).default(120_000),
    pass_env: PassEnv,
    sampling: z.boolean().default(true).describe('ask the client model via MCP sampling when it offers it'),
    sampling_max_tokens: z.int().min(64).max(32_000).default(1200),
    post_to_linear: z.boolean().default(true).describe('post the report as a comment on the subject ticket (needs LINEAR_API_KEY)'),
    gate_sources: z
      .array(ReviewSourceSchema)
      .min(1)
      .default(['caller', 'sampling', 'command'])
      .describe('review sources whose go/adjust opens the claim gate (a council mixing in another source does not)'),
    supersede_sources: z.array(ReviewSourceSchema).default(['sampling', 'command']).describe('review sources whose council can overturn a reject; otherwise only a human acknowledgement does'),
    personas: z.strictObject({ chucky: PersonaOverride.optional(), oss_killer: PersonaOverride.optional(), archi: PersonaOverride.optional(), saul: PersonaOverride.optional() }).default({}),
  })
  .refine((c) => c.adjust_threshold <= c.go_threshold, { message: 'adjust_threshold must not exceed go_threshold', path: ['adjust_threshold'] });
import { ChangesConfigSchema } from './changes.js';

/**
 * factory.config.json. Every section is optional; defaults apply. Unknown keys are an error
 * naming them, so a typo never silently falls back to a default.
 */
export const ConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  lease_seconds: z
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(7200)
    .describe('default claim lease'),
  autonomy: z.int().min(1).max(5).default(3).describe('autonomy level 1 (ask for everything) to 5 (fully autonomous)'),
  database: z
    .string()
    .min(1)
    .refine((v) => !/^postgres(ql)?:\/\/[^/@]*:[^/]*@/i.test(v) && !/[?&]password=/i.test(v), {
      message: 'holds a password: a config file is committed and read by agents; give the password in PGPASSWORD (or ~/.pgpass) instead',
    })
    .optional()
    .describe('where the store lives when neither --db nor FACTORY_DB says: a SQLite file (relative to the repository) or postgres://user@host:port/db (no password here)'),
  phases: z
    .strictObject({
      reservations: z
        .enum(['enforce', 'warn'])
        .default('enforce')
        .describe("a claim or checkpoint whose files overlap another owner's reservation: refused (files_reserved), or allowed with a warning"),
      worktrees: z.boolean().default(false).describe('every claim gets a branch factory/<mega>-<phase>-<slug> and a git worktree under .factory/worktrees (claim_phase worktree:false opts out)'),
    })
    .default({ reservations: 'enforce', worktrees: false })
    .describe('claims (docs/pipeline.md)'),
  council: CouncilConfigSchema.default(() => CouncilConfigSchema.parse({})),
  governance: z
    .strictObject({
      kill_switch_file: z.string().min(1).default(DEFAULT_KILL_FILE).describe(`a file under the repository root whose presence stops claims and completions (${DEFAULT_KILL_FILE} is obeyed as well)`),
      kill_switch_variable: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
        .optional()
        .describe('GitHub Actions repository variable; "1"/"true" stops claims and completions'),
      kill_switch_cache_seconds: z.int().min(0).max(3600).default(30),
      daily_cost_cap_usd: z.number().positive().nullable().default(null).describe("refuse new claims once today's recorded cost (UTC) reaches this"),
    })
    .default({ kill_switch_file: DEFAULT_KILL_FILE, kill_switch_cache_seconds: 30, daily_cost_cap_usd: null }),
  dod: DodConfigSchema,
  changes: ChangesConfigSchema,
  github: z
    .strictObject({
      owner: z.string().min(1).max(100).optional(),
      repo: z.string().min(1).max(100).optional(),
      reviewers: z
        .array(z.string().regex(/^[A-Za-z0-9-]+(?:\/[A-Za-z0-9_.-]+)?$/, 'a GitHub login, or org/team-slug for a team'))
        .max(15)
        .default([])
        .describe('requested on Show and Ask pull requests by merge_phase: logins, or org/team for teams'),
    })
    .default({ reviewers: [] })
    .describe('the GitHub repository for PR labels, DoD checks and the kill-switch variable (default: the origin remote)'),
  linear: z
    .strictObject({
      lifecycle: z.boolean().default(true).describe("move a phase's tickets: to the started state on claim, to the completed state with a comment on merge (needs LINEAR_API_KEY)"),
      states: z
        .strictObject({
          started: z.string().min(1).max(200).optional().describe('state name or id for a claimed phase (default: the first state of type started in the issue team)'),
          completed: z.string().min(1).max(200).optional().describe('state name or id for a merged phase (default: the first state of type completed)'),
        })
        .default({}),
    })
    .default({ lifecycle: true, states: {} })
    .describe('the ticket lifecycle in Linear'),
  sessions: z
    .strictObject({
      heartbeat_seconds: z.number().min(0.05).max(3600).default(10).describe('how often each server process records that it runs'),
      dead_after_heartbeats: z.number().min(1).max(1000).default(3).describe('a server on another host whose heartbeat is older than this many intervals is gone: its sessions are interrupted'),
    })
    .default({ heartbeat_seconds: 10, dead_after_heartbeats: 3 })
    .describe('server process liveness'),
  http: z
    .strictObject({
      session_idle_seconds: z
        .int()
        .min(1)
        .max(7 * 24 * 3600)
        .default(600)
        .describe('an MCP session with no request and no open stream for this long is closed; its factory session is interrupted (claims adoptable with resume)'),
      max_sessions: z.int().min(1).max(1_000_000).default(1000).describe('open MCP sessions at most; a new one beyond it gets 503'),
    })
    .default({ session_idle_seconds: 600, max_sessions: 1000 })
    .describe('factory-mcp http'),
});

export type Config = z.output<typeof ConfigSchema>;
export type CouncilConfig = z.output<typeof CouncilConfigSchema>;
