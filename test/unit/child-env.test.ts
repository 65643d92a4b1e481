import { describe, expect, it } from 'vitest';
import { childEnv, passesToChild, runCommand } from '../../src/integrations/run.js';
import { holdSecrets, looksSecret, redact, redactCut, secretValues } from '../../src/core/secrets.js';
import { ConfigSchema } from '../../schemas/config.js';

/** A server environment as a developer's shell has it: tools, locale, and secrets of every kind. */
const SERVER_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/dev',
  USER: 'dev',
  LANG: 'en_US.UTF-8',
  LC_ALL: 'C.UTF-8',
  TMPDIR: '/tmp',
  TERM: 'xterm',
  CI: 'true',
  NODE_ENV: 'test',
  NODE_OPTIONS: '--require /tmp/evil.js',
  NODE_AUTH_TOKEN: 'npm-publish-token-123',
  PGPASSWORD: 'pg-store-login-000007',
  FACTORY_DB: 'postgres://factory:inline-pw-000008@db.internal/factory',
  npm_config_registry: 'https://registry.npmjs.org/',
  'npm_config_//registry.npmjs.org/:_authToken': 'npm-auth-token-456',
  npm_config_node_options: '--require /tmp/evil.js',
  GIT_AUTHOR_NAME: 'Dev',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_EXTERNAL_DIFF: '/tmp/evil.sh',
  GIT_SSH_COMMAND: 'ssh -o ProxyCommand=/tmp/evil.sh',
  GIT_ASKPASS: '/tmp/evil.sh',
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'core.fsmonitor',
  GIT_CONFIG_VALUE_0: '/tmp/evil.sh',
  GIT_CONFIG_PARAMETERS: "'core.fsmonitor'='/tmp/evil.sh'",
  GIT_EXEC_PATH: '/tmp/evil',
  GIT_DIR: '/elsewhere/.git',
  FACTORY_ACK_TOKEN: 'human-ack-token-0001',
  FACTORY_HTTP_TOKEN: 'agent-http-token-0002',
  FACTORY_LOG: 'silent',
  GITHUB_TOKEN: 'ghp_githubtoken000003',
  LINEAR_API_KEY: 'lin_api_key_000000004',
  MY_API_SECRET: 'my-api-secret-000005',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-000006',
  AWS_ACCESS_KEY_ID: 'AKIA0000000007',
  DB_PASSWORD: 'hunter2hunter2',
  SSH_AUTH_SOCK: '/run/user/1000/ssh',
  SOME_RANDOM_SETTING: 'x',
};

describe('the environment of child processes (allow-list)', () => {
  it('passes the allow-listed names and nothing else', () => {
    const env = childEnv(SERVER_ENV);
    expect(Object.keys(env).sort()).toEqual(['CI', 'GIT_AUTHOR_NAME', 'GIT_CONFIG_NOSYSTEM', 'HOME', 'LANG', 'LC_ALL', 'NODE_ENV', 'PATH', 'TERM', 'TMPDIR', 'USER', 'npm_config_registry']);
  });

  it('never passes NODE_OPTIONS, git program or redirect settings, secret-looking names or FACTORY_* secrets', () => {
    for (const name of [
      'NODE_OPTIONS',
      'npm_config_node_options',
      'GIT_EXTERNAL_DIFF',
      'GIT_SSH_COMMAND',
      'GIT_ASKPASS',
      'GIT_CONFIG_COUNT',
      'GIT_CONFIG_KEY_0',
      'GIT_CONFIG_PARAMETERS',
      'GIT_EXEC_PATH',
      'GIT_DIR',
      'NODE_AUTH_TOKEN',
      'FACTORY_ACK_TOKEN',
      'FACTORY_HTTP_TOKEN',
      'GITHUB_TOKEN',
      'LINEAR_API_KEY',
      'MY_API_SECRET',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_ACCESS_KEY_ID',
      'DB_PASSWORD',
      'SSH_AUTH_SOCK',
    ]) {
      expect(passesToChild(name), name).toBe(false);
    }
  });

  it("passes names the config lists, except the server's own secrets; values it sets come last", () => {
    const env = childEnv(SERVER_ENV, {
      pass: ['MY_API_SECRET', 'SOME_RANDOM_SETTING', 'FACTORY_ACK_TOKEN', 'GITHUB_TOKEN', 'LINEAR_API_KEY', 'FACTORY_HTTP_TOKEN', 'PGPASSWORD', 'FACTORY_DB'],
      set: { NO_COLOR: '1', CI: 'false' },
    });
    // The store's login (PGPASSWORD, or a password inside a postgres:// FACTORY_DB) never reaches a command, listed or not.
    for (const k of ['PGPASSWORD', 'FACTORY_DB']) expect(env[k], k).toBeUndefined();
    expect(env).toMatchObject({ MY_API_SECRET: 'my-api-secret-000005', SOME_RANDOM_SETTING: 'x', NO_COLOR: '1', CI: 'false' });
    for (const k of ['FACTORY_ACK_TOKEN', 'GITHUB_TOKEN', 'LINEAR_API_KEY', 'FACTORY_HTTP_TOKEN']) expect(env[k], k).toBeUndefined();
  });

  it('a listed name the server does not have is not invented, and unset values are dropped', () => {
    const env = childEnv({ ...SERVER_ENV, EMPTY_ONE: undefined, LANGUAGE: undefined }, { pass: ['NOT_SET_ANYWHERE', 'EMPTY_ONE'] });
    for (const k of ['NOT_SET_ANYWHERE', 'EMPTY_ONE', 'LANGUAGE']) expect(k in env, k).toBe(false);
  });

  it('a config naming a server secret in pass_env is an error naming the field', () => {
    const r = ConfigSchema.safeParse({ dod: { pass_env: ['MY_API_SECRET', 'FACTORY_ACK_TOKEN'] } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['dod', 'pass_env', 1]);
    expect(ConfigSchema.safeParse({ council: { pass_env: ['GITHUB_TOKEN'] } }).error?.issues[0]?.path).toEqual(['council', 'pass_env', 0]);
    expect(ConfigSchema.safeParse({ dod: { pass_env: ['NOT A NAME'] } }).success).toBe(false);
    expect(ConfigSchema.parse({ dod: { pass_env: ['MY_API_SECRET'] } }).dod.pass_env).toEqual(['MY_API_SECRET']);
  });

  it('tells secret-looking names from ordinary ones', () => {
    for (const n of [
      'GITHUB_TOKEN',
      'NPM_TOKEN',
      'MY_API_SECRET',
      'OPENAI_API_KEY',
      'SSH_KEY',
      'DB_PASSWORD',
      'DB_PASSWD',
      'GPG_PASSPHRASE',
      'GOOGLE_APPLICATION_CREDENTIALS',
      'BASIC_AUTH',
      'PRIVATE_PEM',
      'SESSION_COOKIE',
      'SENTRY_DSN',
      'DB_PWD',
    ])
      expect(looksSecret(n), n).toBe(true);
    for (const n of ['PATH', 'HOME', 'NODE_PATH', 'PWD', 'OLDPWD', 'LANG', 'KEYBOARD_LAYOUT_X', 'TERM', 'PATCH_LEVEL', 'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL']) expect(looksSecret(n), n).toBe(false);
  });

  it('a real command sees only the allow-list (no env var leaks through runCommand)', async () => {
    const r = await runCommand([process.execPath, '-e', 'process.stdout.write(JSON.stringify(Object.keys(process.env)))'], {
      cwd: process.cwd(),
      timeoutMs: 10_000,
      env: SERVER_ENV,
      setEnv: { NO_COLOR: '1' },
    });
    const seen = JSON.parse(r.stdout) as string[];
    for (const k of ['FACTORY_ACK_TOKEN', 'FACTORY_HTTP_TOKEN', 'GITHUB_TOKEN', 'LINEAR_API_KEY', 'MY_API_SECRET', 'NODE_OPTIONS', 'GIT_EXTERNAL_DIFF']) expect(seen, k).not.toContain(k);
    expect(seen).toContain('NO_COLOR');
  });
});

describe('redaction of secret values', () => {
  const secrets = secretValues(SERVER_ENV);

  it('replaces every secret value by its name, and leaves short or ordinary values alone', () => {
    const text = `ack=human-ack-token-0001 gh=ghp_githubtoken000003 mine=my-api-secret-000005 pw=hunter2hunter2 path=/usr/bin:/bin`;
    expect(redact(text, secrets)).toBe('ack=[redacted:FACTORY_ACK_TOKEN] gh=[redacted:GITHUB_TOKEN] mine=[redacted:MY_API_SECRET] pw=[redacted:DB_PASSWORD] path=/usr/bin:/bin');
  });

  it('a capture cut in the middle of a secret keeps no piece of it', () => {
    expect(redactCut('output… ghp_githubtok', secrets)).toBe('output… [redacted:GITHUB_TOKEN]');
  });

  it('secrets handed to the server (not in process.env) are redacted too, at least 8 characters long', () => {
    holdSecrets({ FACTORY_ACK_TOKEN: 'held-only-ack-9f8e7d', FACTORY_HTTP_TOKEN: 'short' });
    expect(redact('x held-only-ack-9f8e7d short y')).toBe('x [redacted:FACTORY_ACK_TOKEN] short y');
  });

  it('command output is redacted where it is captured, even when the command was given the secret by pass_env', async () => {
    const r = await runCommand([process.execPath, '-e', 'console.log(process.env.MY_API_SECRET); console.error(process.env.MY_API_SECRET)'], {
      cwd: process.cwd(),
      timeoutMs: 10_000,
      env: SERVER_ENV,
      passEnv: ['MY_API_SECRET'],
    });
    expect(r.stdout).toBe('[redacted:MY_API_SECRET]\n');
    expect(r.stderr).toBe('[redacted:MY_API_SECRET]\n');
    expect(r.output).not.toContain('my-api-secret-000005');
  });
});
