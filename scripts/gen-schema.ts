/** Writes schemas/factory.config.schema.json from the zod config schema (`npm run schema`). */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigSchema } from '../schemas/config.js';
import { packageRoot } from '../src/cli/init.js';

export function configJsonSchema(): string {
  const schema = z.toJSONSchema(ConfigSchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return `${JSON.stringify({ ...schema, title: 'factory-mcp configuration (factory.config.json)' }, null, 2)}\n`;
}

export const SCHEMA_FILE = path.join(packageRoot(), 'schemas', 'factory.config.schema.json');

if (process.argv[1]?.endsWith('gen-schema.js')) {
  fs.writeFileSync(SCHEMA_FILE, configJsonSchema());
  console.log(`wrote ${SCHEMA_FILE}`);
}
