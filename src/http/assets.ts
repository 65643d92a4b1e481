import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import { duration } from '../report/domain.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The dashboard folder ships beside src/ and dist/; found by walking up from this module. */
function dashboardDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'dashboard');
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('dashboard assets not found');
    dir = up;
  }
}

let cache: Map<string, { body: Buffer; type: string }> | null = null;

function load(): Map<string, { body: Buffer; type: string }> {
  if (cache) return cache;
  const dir = dashboardDir();
  cache = new Map();
  for (const f of fs.readdirSync(dir)) {
    const type = TYPES[path.extname(f)];
    if (type) cache.set(`/${f}`, { body: fs.readFileSync(path.join(dir, f)), type });
  }
  cache.set('/', cache.get('/index.html') as { body: Buffer; type: string });
  // The one duration format, from the same function the cycle report uses (the page has no build step).
  cache.set('/format.js', { body: Buffer.from(`export ${duration.toString()}\n`), type: TYPES['.js'] as string });
  return cache;
}

/** Serves a dashboard file from memory; false when the path is not one. No CDN: everything is local. */
export function serveAsset(pathname: string, res: http.ServerResponse, status = 200): boolean {
  const a = load().get(pathname);
  if (!a) return false;
  res.writeHead(status, {
    'content-type': a.type,
    'content-length': a.body.length,
    'cache-control': 'no-cache',
    'content-security-policy': "default-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'",
  });
  res.end(a.body);
  return true;
}
