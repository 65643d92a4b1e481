import { defineResource } from '../src/mcp/resource.js';
import { memoryMarkdown, operationsText, planMarkdown } from '../src/transfer/export.js';

export const memoryResource = defineResource({
  name: 'memory',
  title: 'memory.md',
  description: 'Shared memory (status, decisions, known issues) rendered as memory.md.',
  mimeType: 'text/markdown',
  uri: 'factory://memory',
  read: (ctx) => memoryMarkdown(ctx.store),
});

export const planResource = defineResource({
  name: 'plan',
  title: 'plan.md',
  description: 'Every MEGA as a table of phases with status, owner and latest progress, as plan.md.',
  mimeType: 'text/markdown',
  uri: 'factory://plan',
  read: (ctx) => planMarkdown(ctx.store),
});

export const operationsResource = defineResource({
  name: 'operations',
  title: 'operations.log',
  description: 'The latest 500 entries of the hash-chained operations log, one line each.',
  mimeType: 'text/plain',
  uri: 'factory://operations',
  read: (ctx) => operationsText(ctx.store, 500),
});
