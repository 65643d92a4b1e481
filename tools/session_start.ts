import { defineTool } from '../src/mcp/tool.js';
import { SessionStartInput, SessionStartOutput } from '../schemas/sessions.js';
import { claimArgs } from '../src/mcp/answer-text.js';

export const sessionStart = defineTool({
  name: 'session_start',
  title: 'Start a session',
  toolset: 'sessions',
  description: 'Call first: your instance id, autonomy, kill switch, interrupted sessions to resume.',
  input: SessionStartInput,
  output: SessionStartOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: async (ctx, input) => {
    const instance = await ctx.session.ensureInstance();
    await ctx.guards.prepare?.();
    const r = await ctx.store.sessionsService.start(instance, input, ctx.clock(), ctx.config.lease_seconds * 1000);
    const kill = ctx.governance?.killSwitch();
    const adopted = r.resumed.reduce((n, x) => n + x.phases.length, 0);
    const parts = [`You are ${instance} (autonomy ${ctx.config.autonomy}).`];
    if (kill?.on) parts.push(kill.message);
    if (r.resumed.length) parts.push(`Resumed ${r.resumed.map((x) => x.from).join(', ')}: adopted ${adopted} claim(s) with new tokens.`);
    if (r.crashed_total) parts.push(`${r.crashed_total} interrupted session(s): ${r.crashed.map((c) => `${c.instance} (${c.phases.length} claim(s))`).join(', ')}; resume to adopt their claims.`);
    return { instance, ...r, autonomy: ctx.config.autonomy, kill_switch: kill?.on ?? false, message: parts.join(' ') };
  },
  // The adopted claims' new tokens: one line each.
  text: (o) => [o.message, ...o.resumed.flatMap((x) => x.phases.map((p) => claimArgs(p.mega, p.id, p.token)))].join('\n'),
});
