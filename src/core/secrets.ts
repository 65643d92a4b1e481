/**
 * The secrets the server holds, and their redaction: the second line of defence behind the
 * allow-listed environment of child processes (src/integrations/run.ts). Every secret value is
 * replaced by `[redacted:NAME]` where text leaves a command or enters a log, a stored row or an
 * answer: command output capture, the logger, DoD and council rows, the operations log.
 */

/** The server's own secrets: never passed to a child process, whatever the config says. */
export const SERVER_SECRETS = ['FACTORY_ACK_TOKEN', 'FACTORY_HTTP_TOKEN', 'FACTORY_SESSION', 'GITHUB_TOKEN', 'LINEAR_API_KEY', 'PGPASSWORD', 'PGPASSFILE'] as const;

const SECRET_NAME = /TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|AUTH(?!OR)|PRIVATE|COOKIE|API_?KEY|(?:^|_)(?:KEY|KEYS|PASS|PAT|PWD|DSN)(?:_|$)/i;

/** Whether an environment variable's name looks like it holds a secret. */
export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name) && name !== 'PWD' && name !== 'OLDPWD';
}

/** Whether `name` is one the server never hands to a child: its own secrets and any secret-looking FACTORY_* name. */
export function isServerSecret(name: string): boolean {
  return (SERVER_SECRETS as readonly string[]).includes(name) || (name.startsWith('FACTORY_') && looksSecret(name));
}

/** Values shorter than this are not redacted: too likely to occur in ordinary text. */
export const MIN_SECRET_LENGTH = 8;

/** Secrets handed to the server other than through process.env (createServer's env, startHttp's tokens). */
const held = new Map<string, string>();

/**
 * The list for the server's own environment, kept for up to a second: every operations-log entry
 * is redacted inside its write transaction, and reading all of process.env (a getter per name)
 * each time cost a claim about 45 µs under the write lock. A server's environment is fixed at
 * start; a secret put into process.env later is redacted from the next second on.
 */
let ownSecrets: { at: number; list: [value: string, name: string][] } | null = null;
const OWN_SECRETS_TTL_MS = 1000;

/** Registers the secret values of `env` (its server secrets and secret-looking names) for redaction. */
export function holdSecrets(env: NodeJS.ProcessEnv | Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.length >= MIN_SECRET_LENGTH && (isServerSecret(name) || looksSecret(name))) held.set(value, name);
  }
  ownSecrets = null;
}

/** Every secret value the server holds (held, in process.env, in `env`), longest first so that a secret containing another goes whole. */
export function secretValues(env?: NodeJS.ProcessEnv): [value: string, name: string][] {
  if (env === undefined || env === process.env) {
    const now = Date.now();
    if (ownSecrets === null || now - ownSecrets.at >= OWN_SECRETS_TTL_MS) ownSecrets = { at: now, list: collect() };
    return ownSecrets.list;
  }
  return collect(env);
}

function collect(env?: NodeJS.ProcessEnv): [value: string, name: string][] {
  const out = new Map(held);
  for (const e of env && env !== process.env ? [process.env, env] : [process.env]) {
    for (const [name, value] of Object.entries(e)) {
      if (value !== undefined && value.length >= MIN_SECRET_LENGTH && looksSecret(name) && !out.has(value)) out.set(value, name);
    }
  }
  return [...out].sort((a, b) => b[0].length - a[0].length);
}

/** `text` with every secret value the server holds replaced by `[redacted:NAME]`. */
export function redact(text: string, secrets: [string, string][] = secretValues()): string {
  let out = text;
  for (const [value, name] of secrets) if (out.includes(value)) out = out.split(value).join(`[redacted:${name}]`);
  return out;
}

/**
 * Redacts a capture that was cut short: also drops a trailing piece of text that is the start of a
 * secret (the rest of which was cut off), so no part of a secret survives the cut.
 */
export function redactCut(text: string, secrets: [string, string][] = secretValues()): string {
  let out = redact(text, secrets);
  for (const [value, name] of secrets) {
    for (let n = Math.min(value.length - 1, out.length); n >= 4; n--) {
      if (out.endsWith(value.slice(0, n))) {
        out = `${out.slice(0, -n)}[redacted:${name}]`;
        break;
      }
    }
  }
  return out;
}
