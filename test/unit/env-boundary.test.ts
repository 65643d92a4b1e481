import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function files(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

/** Lines of code (comments left out) that match `re`, as "file:line". */
function hits(dirs: string[], re: RegExp, except: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const f of dirs.flatMap(files)) {
    if (except.includes(f)) continue;
    fs.readFileSync(path.join(ROOT, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        if (!/^\s*\*/.test(line) && re.test(code)) out.push(`${f}:${i + 1}`);
      });
  }
  return out;
}

describe('the environment is read where the process starts and handed on as ctx.env', () => {
  it('no service reads process.env: only the entry points and the process-wide helpers do', () => {
    const entryPoints = [
      'src/cli.ts', // the CLI: read once, handed to every context
      'src/mcp/server.ts', // createServer's default, and the output check switch
      'src/http/server.ts', // startHttp's default
      'src/core/logger.ts', // FACTORY_LOG for the process's own logger
      'src/core/config.ts', // FACTORY_DB beside --db
      'src/core/secrets.ts', // redaction covers every secret of the process
      'src/integrations/run.ts', // a command's default environment (allow-listed)
      'src/integrations/git.ts', // git's allow-listed environment
      'src/cli/init.ts', // git, once, from the CLI
    ];
    expect(hits(['src', 'tools', 'resources', 'prompts'], /process\.env\b/, entryPoints)).toEqual([]);
  });

  it('no test changes process.env: tests hand servers and services their own env', () => {
    const writes = /process\.env(\.\w+|\[[^\]]+\])\s*=[^=]|delete\s+process\.env|Object\.assign\(\s*process\.env/;
    expect(hits(['test'], writes, ['test/unit/env-boundary.test.ts'])).toEqual([]);
  });
});
