import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/server.js';

const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const dir = tempDir('factory-mcpjson-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('mcp.json, the example client configuration', () => {
  const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'mcp.json'), 'utf8')) as {
    mcpServers: Record<string, { type: string; command?: string; args?: string[]; env?: Record<string, string>; url?: string }>;
  };
  it('has a stdio entry that starts and lists the tools when run from the package root', async () => {
    const entry = Object.values(config.mcpServers).find((s) => s.type === 'stdio');
    expect(entry).toBeDefined();
    const command = entry!.command === 'node' ? process.execPath : entry!.command!;
    const transport = new StdioClientTransport({
      command,
      args: entry!.args,
      cwd: ROOT,
      env: { ...(process.env as Record<string, string>), ...entry!.env, FACTORY_DB: path.join(dir, 'f.db'), FACTORY_LOG: 'silent' },
    });
    const client = new Client({ name: 'mcp-json', version: '1' });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('claim_phase');
    await client.close();
  });

  it('has an HTTP entry that reaches `factory-mcp http` started with its defaults', async () => {
    const entry = Object.values(config.mcpServers).find((s) => s.type === 'http');
    expect(entry?.url).toBeDefined();
    const url = new URL(entry!.url!);
    expect(url.pathname).toBe('/mcp');
    // `factory-mcp http` binds 127.0.0.1:7420 by default; the entry must point there. Serve on an
    // ephemeral port here (7420 may be taken) and connect with the entry's path and host.
    expect([url.hostname, url.port]).toEqual(['127.0.0.1', '7420']);
    const { startHttp } = await import('../../src/http/server.js');
    const { Store } = await import('../../src/core/store.js');
    const { parseConfig } = await import('../../src/core/config.js');
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const store = await Store.open(path.join(dir, 'h.db'), { leaseSeconds: 60 });
    const srv = await startHttp({ store, config: parseConfig({}), root: dir, port: 0 });
    try {
      const client = new Client({ name: 'mcp-json-http', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url.pathname, srv.url)));
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('claim_phase');
      await client.close();
    } finally {
      await srv.close(1000);
      await store.close();
    }
  });
});
