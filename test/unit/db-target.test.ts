import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPostgresUrl, resolveDbPath, shownTarget, urlPassword } from '../../src/core/config.js';
import { ConfigSchema } from '../../schemas/config.js';

describe('database targets: a SQLite file or a postgres:// URL', () => {
  it('shows a URL without its password, wherever the password hides', () => {
    expect(shownTarget('postgres://alice:s3cret@db:5432/factory')).toBe('postgres://alice@db:5432/factory');
    expect(shownTarget('postgresql://alice:p@ss@word@db/factory')).toBe('postgresql://alice@db/factory');
    expect(shownTarget('postgres://db/factory?sslmode=require&password=hunter22')).toBe('postgres://db/factory?sslmode=require&password=***');
    expect(shownTarget('postgres://alice@db/factory')).toBe('postgres://alice@db/factory');
    expect(shownTarget('/var/lib/factory/factory.db')).toBe('/var/lib/factory/factory.db');
  });

  it('finds the password a URL carries (to redact it), in the userinfo or the query', () => {
    expect(urlPassword('postgres://alice:s%40cret@db/factory')).toBe('s@cret');
    expect(urlPassword('postgres://db/factory?password=hunter22')).toBe('hunter22');
    expect(urlPassword('postgres://alice@db/factory')).toBeNull();
    expect(urlPassword('./factory.db')).toBeNull();
  });

  it('--db, then FACTORY_DB, then the config; a URL is kept as it is, a file resolved', () => {
    const root = '/repo';
    expect(resolveDbPath(root, 'postgres://a@h/d', { FACTORY_DB: 'x.db' })).toBe('postgres://a@h/d');
    expect(resolveDbPath(root, undefined, { FACTORY_DB: 'postgresql://a@h/d' }, { database: 'y.db' })).toBe('postgresql://a@h/d');
    expect(resolveDbPath(root, undefined, {}, { database: 'state/f.db' })).toBe(path.resolve(root, 'state/f.db'));
    expect(resolveDbPath(root, undefined, {}, { database: 'POSTGRES://a@h/d' })).toBe('POSTGRES://a@h/d');
    expect(isPostgresUrl('postgres.db')).toBe(false);
  });

  it('a config database holding a password is refused, naming the field', () => {
    for (const database of ['postgres://a:pw@h/d', 'postgres://a:p@w@h/d', 'postgres://a@h/d?password=x']) {
      const r = ConfigSchema.safeParse({ database });
      expect(r.success, database).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(['database']);
    }
    expect(ConfigSchema.parse({ database: 'postgres://a@h/d' }).database).toBe('postgres://a@h/d');
  });
});
