import { z } from 'zod';

/**
 * factory.config.json. Every section is optional; defaults apply. Unknown keys are an error
 * naming them, so a typo never silently falls back to a default.
 */
export const ConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  lease_seconds: z.int().min(1).max(7 * 24 * 3600).default(7200).describe('default claim lease'),
  autonomy: z.int().min(1).max(5).default(3).describe('autonomy level 1 (ask for everything) to 5 (fully autonomous)'),
  governance: z
    .strictObject({
      kill_switch_file: z.string().min(1).default('.factory/KILL').describe('a file under the repository root whose presence stops claims and completions'),
      github_repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/repo').optional().describe('repository holding the kill-switch variable'),
      kill_switch_variable: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional().describe('GitHub Actions repository variable; "1"/"true" stops claims and completions'),
      kill_switch_cache_seconds: z.int().min(0).max(3600).default(30),
      daily_cost_cap_usd: z.number().positive().nullable().default(null).describe('refuse new claims once today\'s recorded cost (UTC) reaches this'),
    })
    .default({ kill_switch_file: '.factory/KILL', kill_switch_cache_seconds: 30, daily_cost_cap_usd: null }),
});

export type Config = z.output<typeof ConfigSchema>;
