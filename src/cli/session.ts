import { createHash, randomBytes } from 'node:crypto';
import { beforeNextWrite } from '../core/db.js';
import { InputError } from '../core/errors.js';
import { holdSecrets } from '../core/secrets.js';
import type { Store } from '../core/store.js';
import { iso } from '../core/time.js';
import { invoke, report, resultText, type CliAt } from './call.js';

/**
 * CLI sessions. Each `factory-mcp` command is its own process, yet a claim token is accepted only
 * from the session that holds the claim (the gate in src/phases/service.ts). `factory-mcp session
 * start` creates a session that outlives its process and prints a secret key for it; every later
 * command given that key (FACTORY_SESSION, or --session) acts as that session. Only the key's
 * SHA-256 is stored (table session_keys); MCP sessions (stdio, HTTP) have no key, so no shell can
 * act as an agent's MCP session, and their tokens stay refused in a CLI session.
 */

/** The environment variable holding the key; read at the entry point (src/cli.ts) only. */
export const KEY_ENV = 'FACTORY_SESSION';
const KEY_PREFIX = 'fs_';
/** 32 random bytes, base64url: a key cannot be guessed, so a plain SHA-256 of it is a safe verifier. */
const KEY_SHAPE = /^fs_[A-Za-z0-9_-]{43}$/;

export const START_HINT = 'start one with  eval "$(factory-mcp session start --agent NAME)"  (sets FACTORY_SESSION in this shell), or pass --session KEY';

export function newSessionKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function sessionKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The key this command was given: --session, else FACTORY_SESSION; held for redaction like every secret. */
export function givenKey(v: Record<string, unknown>, env: NodeJS.ProcessEnv): { key: string; from: string } | null {
  const flag = typeof v.session === 'string' ? v.session : undefined;
  const got = flag !== undefined ? { key: flag, from: '--session' } : env[KEY_ENV] ? { key: env[KEY_ENV], from: KEY_ENV } : null;
  if (got) holdSecrets({ [KEY_ENV]: got.key });
  return got;
}

/**
 * The live CLI session `given` names, else an InputError naming --session or FACTORY_SESSION (exit 2).
 * The key itself is never repeated in a message.
 */
export async function keySession(store: Store, given: { key: string; from: string } | null): Promise<string> {
  if (!given) throw new InputError('--session', `this command acts as a CLI session and none is given: ${START_HINT}`);
  const { key, from } = given;
  if (!KEY_SHAPE.test(key)) throw new InputError(from, `not a session key (they look like fs_ and 43 letters, digits, - or _): ${START_HINT}`);
  const row = await store.sessions.byKeyHash(sessionKeyHash(key));
  if (!row) throw new InputError(from, `not the key of a session in this database (${store.sql.where}): ${START_HINT}`);
  const again = `start a new one with  eval "$(factory-mcp session start --resume ${row.instance})"  to adopt what it kept`;
  if (row.adopted_by !== null) throw new InputError(from, `session ${row.instance} was taken over by ${row.adopted_by} at ${iso(row.adopted_at ?? 0)}; ${START_HINT}`);
  if (row.ended_at !== null) throw new InputError(from, `session ${row.instance} ended at ${iso(row.ended_at)}; ${(await store.phases.claimsOf(row.instance)).length ? again : START_HINT}`);
  return row.instance;
}

/** For a claim an answer carries, the commands that take its token. */
export function nextCommand(claim: unknown): string | null {
  const c = claim as { claimed?: boolean; token?: unknown } | undefined;
  return c && c.claimed !== false && typeof c.token === 'string' ? `then: factory-mcp heartbeat|checkpoint|complete --token ${c.token}` : null;
}

/**
 * `factory-mcp session start`: the session_start tool in a new CLI session that outlives this
 * process, and its key: `export FACTORY_SESSION=…` on stdout (for eval), the tool's answer on
 * stderr; with --json one object, the tool's answer and `key`. The key is written with the
 * session's row, in one transaction: a refused start leaves neither.
 */
export async function sessionStart(v: Record<string, unknown>, at: CliAt): Promise<number> {
  const agent = typeof v.agent === 'string' ? v.agent : undefined;
  const resume = v.resume === 'all' ? true : (v.resume as string | undefined);
  const key = newSessionKey();
  holdSecrets({ [KEY_ENV]: key });
  const result = await invoke('session_start', { agent, resume }, at, { agent: agent ?? 'factory-mcp session', keep: true }, async (ctx) => {
    const instance = await ctx.session.ensureInstance(); // reserved now; the row is written by the first write
    beforeNextWrite(ctx.store.sql, sessionKeyHash, () => ctx.store.sessions.setKeyHash(instance, sessionKeyHash(key), ctx.clock()));
  });
  if (result.isError) return report('session start', result, false);
  const out = result.structuredContent as Record<string, unknown>;
  if (v.json === true) {
    process.stdout.write(`${JSON.stringify({ ...out, key }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`export ${KEY_ENV}=${key}\n`);
  const adopted = (out.resumed as { phases: unknown[] }[]).flatMap((r) => r.phases.map(nextCommand));
  process.stderr.write(
    `${[resultText(result), ...adopted].join('\n')}\n` +
      `${KEY_ENV} is this session's key: commands run with it act as ${String(out.instance)} (claim, heartbeat, checkpoint, complete, release, session end). ` +
      `Shown once; keep it out of agents' environments.\n`,
  );
  return 0;
}
