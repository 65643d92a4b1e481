import type http from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a dashboard sign-in lasts unless the server is told otherwise. */
export const DEFAULT_LOGIN_TTL_SECONDS = 12 * 3600;
/** Sign-ins kept at once; the oldest is dropped first (each is one browser, so this is generous). */
const MAX_LOGINS = 1000;
export const LOGIN_COOKIE = 'factory_session';
const COOKIE = new RegExp(`(?:^|;\\s*)${LOGIN_COOKIE}=([A-Za-z0-9_-]{43})(?:;|$)`);

/**
 * Whether two secrets are equal, in time that depends on neither: both are hashed to 32 bytes
 * first, so the comparison does not even reveal the expected secret's length.
 */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** `Authorization: Bearer <token>` matches `token`. */
export function bearer(req: http.IncomingMessage, token: string): boolean {
  const h = req.headers.authorization ?? '';
  return h.startsWith('Bearer ') && sameSecret(h.slice(7).trim(), token);
}

/**
 * Dashboard sign-ins: a browser that proved the token once (a form POST to /login, or the
 * Authorization header) gets an opaque random id in an HttpOnly, SameSite=Strict cookie. The id
 * is not the token and expires; the token itself never travels in a URL or a cookie.
 */
export class Logins {
  private readonly expires = new Map<string, number>();

  constructor(
    private readonly clock: () => number,
    private readonly ttlSeconds = DEFAULT_LOGIN_TTL_SECONDS,
  ) {}

  /** A new sign-in; returns the Set-Cookie header value. */
  open(): string {
    const now = this.clock();
    for (const [id, exp] of this.expires) if (exp <= now) this.expires.delete(id);
    if (this.expires.size >= MAX_LOGINS) this.expires.delete(this.expires.keys().next().value as string);
    const id = randomBytes(32).toString('base64url');
    this.expires.set(id, now + this.ttlSeconds * 1000);
    return `${LOGIN_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${this.ttlSeconds}`;
  }

  /** Whether the request carries a live sign-in cookie. */
  valid(req: http.IncomingMessage): boolean {
    const m = COOKIE.exec(req.headers.cookie ?? '');
    if (!m) return false;
    const id = m[1] as string;
    const exp = this.expires.get(id);
    if (exp === undefined) return false;
    if (exp > this.clock()) return true;
    this.expires.delete(id);
    return false;
  }
}

/** The token a sign-in form posts (`token=…`, urlencoded) or sends as JSON `{token}`. */
export function postedToken(body: string): string | null {
  const t = body.trimStart().startsWith('{') ? parseJsonToken(body) : new URLSearchParams(body).get('token');
  return typeof t === 'string' && t.length > 0 ? t : null;
}

function parseJsonToken(body: string): unknown {
  try {
    return (JSON.parse(body) as { token?: unknown } | null)?.token;
  } catch {
    return null;
  }
}
