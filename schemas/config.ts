import { z } from 'zod';
import { ChangesConfigSchema } from './changes.js';

/**
 * factory.config.json. Every section is optional; defaults apply. Unknown keys are an error
 * naming them, so a typo never silently falls back to a default.
 */
export const ConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  lease_seconds: z.int().min(1).max(7 * 24 * 3600).default(7200).describe('default claim lease'),
  autonomy: z.int().min(1).max(5).default(3).describe('autonomy level 1 (ask for everything) to 5 (fully autonomous)'),
  changes: ChangesConfigSchema,
  github: z
    .strictObject({ owner: z.string().min(1).max(100).optional(), repo: z.string().min(1).max(100).optional() })
    .default({})
    .describe('GitHub repository (default: parsed from the origin remote)'),
});

export type Config = z.output<typeof ConfigSchema>;
