import { definePrompt, type PromptDef } from '../src/mcp/resource.js';
import { brief, PERSONAS, type PersonaId } from '../src/council/domain.js';
import { personas } from '../src/council/service.js';

function personaPrompt(id: PersonaId): PromptDef {
  const base = PERSONAS.find((p) => p.id === id) as (typeof PERSONAS)[number];
  return definePrompt({
    name: `council_${id}`,
    title: `Council: ${base.name}`,
    description: `${base.name}'s brief (${base.role}): review a proposal and answer with a JSON score for run_council.`,
    arguments: [{ name: 'subject', description: 'the proposal: title, description, points', required: true }],
    get: (ctx, args) => {
      const p = personas(ctx.config).find((x) => x.id === id) ?? base;
      const [title, ...rest] = (args.subject ?? '').trim().split('\n');
      return { text: brief(p, { title: title ?? '', description: rest.join('\n').trim() || (title ?? '') }) };
    },
  });
}

export const COUNCIL_PROMPTS: readonly PromptDef[] = (['chucky', 'oss_killer', 'archi', 'saul'] as const).map(personaPrompt);
