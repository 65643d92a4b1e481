import type { PromptDef } from '../src/mcp/resource.js';
import { COUNCIL_PROMPTS } from './council.js';

/** Every prompt the server offers (the council personas add theirs here). */
export const ALL_PROMPTS: readonly PromptDef[] = [...COUNCIL_PROMPTS];
