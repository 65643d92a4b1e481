import { defineResource } from '../src/mcp/resource.js';
import { iso } from '../src/core/time.js';

export const dodResource = defineResource({
  name: 'dod',
  title: 'Definition of Done results',
  description: 'The last check_dod result of every phase: passed, score, failing checks, when.',
  mimeType: 'application/json',
  uri: 'factory://dod',
  read: async (ctx) =>
    JSON.stringify(
      (await ctx.store.dod.latestPerPhase()).map((r) => ({
        mega: r.mega,
        phase: r.phase,
        passed: r.passed,
        score: r.score,
        partial: r.partial,
        failing: r.checks.filter((c) => c.status === 'fail' || c.status === 'error').map((c) => c.id),
        at: iso(r.ts),
        by: r.instance,
      })),
      null,
      2,
    ),
});
