import { z } from 'zod';
import { isServerSecret } from '../src/core/secrets.js';

/** Limits on free text: long enough for real use, short enough that a runaway agent cannot bloat the database. */
export const LIMITS = {
  key: 64,
  name: 200,
  text: 20_000,
  ticket: 64,
  tickets: 50,
  deps: 200,
  phases: 5000,
} as const;

export const MegaKey = z
  .string()
  .min(1)
  .max(LIMITS.key)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a MEGA key is letters, digits, ".", "_" or "-", like CAB-1290');

export const PhaseIdSchema = z.union([
  z.int().min(0).max(1_000_000_000),
  z
    .string()
    .trim()
    .min(1)
    .max(LIMITS.key)
    .regex(/^[^\s\p{C}]+$/u, 'a phase id has no spaces or control characters'),
]);

/** How deep free-form JSON (log_operation.data) may nest: deeper input would overflow the stack when stored. */
export const MAX_JSON_DEPTH = 64;

/** Whether `v` nests objects or arrays more than `max` levels deep; iterative, so any depth is safe to ask about. */
export function nestedDeeperThan(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop() as [unknown, number];
    if (typeof x !== 'object' || x === null) continue;
    if (d >= max) return true;
    for (const c of Object.values(x)) if (typeof c === 'object' && c !== null) stack.push([c, d + 1]);
  }
  return false;
}

/** Free-form JSON: an object, nested at most MAX_JSON_DEPTH levels. */
export const JsonObject = z.record(z.string(), z.unknown()).refine((v) => !nestedDeeperThan(v, MAX_JSON_DEPTH), `nested more than ${MAX_JSON_DEPTH} levels deep`);

export const Token = z.string().min(1).max(128);

/**
 * What the arguments many tools share mean, said once. Every input field in tools/list is
 * described (test/unit/toolsnaps.test.ts), and every byte there is read by every agent.
 */
export const ARG = {
  mega: 'MEGA key',
  phase: 'phase id',
  token: "your claim's token",
  cwd: 'a worktree; default: the repository',
  points: 'story points',
} as const;

export const LeaseSeconds = z
  .int()
  .min(1)
  .max(7 * 24 * 3600)
  .describe('default 7200');

export const PhaseRefSchema = z.object({
  mega: z.string(),
  id: z.union([z.number(), z.string()]),
  name: z.string(),
  points: z.number().nullable(),
  tickets: z.array(z.string()),
  deps: z.array(z.union([z.number(), z.string()])),
});

/** Renders zod issues as `path: message` lines, the path in the caller's terms (`phases[2].deps[0]`). */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => {
      const path = formatPath(i.path);
      if (i.code === 'unrecognized_keys') {
        const keys = (i as { keys: string[] }).keys;
        return `${path ? `${path}: ` : ''}unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}`;
      }
      if (i.code === 'too_big' && (i as { origin?: string }).origin === 'string') {
        return `${path || '(input)'}: too long (at most ${(i as { maximum: number | bigint }).maximum} characters)`;
      }
      return `${path || '(input)'}: ${i.message}`;
    })
    .join('; ');
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Extra environment variables a configured command receives (dod.pass_env, council.pass_env). */
export const PassEnv = z
  .array(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
      .refine((n) => !isServerSecret(n), { message: "is one of the server's own secrets, which never reach a command (see docs/security.md)" }),
  )
  .max(100)
  .default([])
  .describe('environment variables passed to the commands besides the allow-list (see docs/security.md)');

/** Reservation globs a call adds: repository-relative, checked by src/pipeline/reservations.ts (the error names the entry). */
export const ReserveFiles = z.array(z.string()).describe('globs you will edit (others get files_reserved)');
/** Another owner's claim whose reserved globs overlap the caller's (files_reserved, or a warning). */
export const ReservedBySchema = z.object({
  owner: z.string(),
  agent: z.string().nullable(),
  mega: z.string(),
  phase: z.union([z.number(), z.string()]),
  name: z.string(),
  overlaps: z.array(z.object({ mine: z.string(), theirs: z.string(), example: z.string().optional() })),
});
