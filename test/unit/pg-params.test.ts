import { describe, expect, it } from 'vitest';
import { parsePgUrl, translateParams } from '../../src/core/pg.js';

// How statements written for both engines become PostgreSQL's (src/core/pg.ts).
describe('translateParams', () => {
  it('numbers ? in order', () => {
    expect(translateParams('UPDATE t SET a = ?, b = ? WHERE c = ?')).toEqual({ text: 'UPDATE t SET a = $1, b = $2 WHERE c = $3', names: undefined, count: 3 });
  });

  it('gives each @name a number of its own, a repeated name again, so each place is typed alone', () => {
    expect(translateParams('SELECT * FROM t WHERE a = @now OR b < @now + @lease AND c = @mega_1')).toEqual({
      text: 'SELECT * FROM t WHERE a = $1 OR b < $2 + $3 AND c = $4',
      names: ['now', 'now', 'lease', 'mega_1'],
      count: 4,
    });
  });

  it('leaves strings, quoted identifiers, comments and dollar-quoted bodies alone', () => {
    const sql = `SELECT '?', 'a''?@b', "c?@d", $$ ? @e $$, $fn$ ? $fn$ /* ? @f */ FROM t -- ? @g\nWHERE x = ?`;
    expect(translateParams(sql)).toEqual({ text: sql.replace(/\?$/, '$1'), names: undefined, count: 1 });
  });

  it('does not take operators or casts for parameters', () => {
    expect(translateParams('SELECT a @> b, c <@ d, e::text, f @@ g FROM t WHERE h = ?').text).toBe('SELECT a @> b, c <@ d, e::text, f @@ g FROM t WHERE h = $1');
  });

  it('refuses ? and @name in one statement', () => {
    expect(() => translateParams('SELECT ? , @a')).toThrow(/\? and @name parameters together/);
  });
});

describe('parsePgUrl', () => {
  it('reads user, password, host, port and database; where leaves the password out', () => {
    expect(parsePgUrl('postgres://fac%40tory:p%3Ass@db.example:6543/work')).toMatchObject({
      user: 'fac@tory',
      password: 'p:ss',
      host: 'db.example',
      port: 6543,
      database: 'work',
      ssl: false,
      where: 'postgres://fac%40tory@db.example:6543/work',
    });
  });

  it('defaults like libpq: port 5432, the database named after the user; the password from the env given, never the process', () => {
    expect(parsePgUrl('postgresql://alice@h', { PGPASSWORD: 'x' })).toMatchObject({ port: 5432, database: 'alice', password: 'x' });
    expect(parsePgUrl('postgres://alice@h').password).toBeUndefined();
  });

  it('sslmode: require encrypts, verify-full also checks the certificate', () => {
    expect(parsePgUrl('postgres://a@h/d?sslmode=require').ssl).toEqual({ rejectUnauthorized: false });
    expect(parsePgUrl('postgres://a@h/d?sslmode=verify-full').ssl).toEqual({ rejectUnauthorized: true });
  });

  it('IPv6 hosts keep their brackets in where', () => {
    expect(parsePgUrl('postgres://a@[::1]:5433/d')).toMatchObject({ host: '::1', where: 'postgres://a@[::1]:5433/d' });
  });
});
