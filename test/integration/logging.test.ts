import { ErrorCode, LoggingMessageNotificationSchema, type LoggingLevel, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { harness, type Agent, type Harness } from '../helpers/server.js';

/** MCP logging: the server declares it, `logging/setLevel` filters each session's notifications/message by RFC 5424 severity. */
let h: Harness;
afterEach(() => h?.close());

type Line = LoggingMessageNotification['params'];

async function listening(o: Parameters<Harness['connect']>[0] = {}): Promise<{ agent: Agent; lines: Line[]; stderr: string[] }> {
  const lines: Line[] = [];
  const stderr: string[] = [];
  const write = (m: string) => stderr.push(m);
  const agent = await h.connect({
    logger: { info: write, warn: write, error: write },
    setup: (c) => c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void lines.push(n.params)),
    ...o,
  });
  return { agent, lines, stderr };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('MCP logging', () => {
  it('declares logging; until the client sets a level it hears warnings and worse, at their RFC 5424 names', async () => {
    h = await harness();
    const { agent, lines, stderr } = await listening();
    expect(agent.client.getServerCapabilities()?.logging).toEqual({});
    const log = agent.server.ctx.logger;
    log.info('started');
    log.warn('lease refresh failed');
    log.error('board failed');
    await settle();
    expect(lines).toEqual([
      { level: 'warning', logger: 'factory-mcp', data: 'lease refresh failed' },
      { level: 'error', logger: 'factory-mcp', data: 'board failed' },
    ]);
    expect(stderr).toEqual(['started', 'lease refresh failed', 'board failed']); // the server's own log keeps every line
  });

  it('logging/setLevel answers {} and filters what follows: error hides warnings, debug shows info', async () => {
    h = await harness();
    const { agent, lines } = await listening();
    const log = agent.server.ctx.logger;
    expect(await agent.client.setLoggingLevel('error')).toEqual({});
    log.warn('hidden');
    log.error('shown');
    await settle();
    expect(lines.map((l) => l.data)).toEqual(['shown']);
    await agent.client.setLoggingLevel('debug');
    log.info('now shown');
    await settle();
    expect(lines.map((l) => [l.level, l.data])).toEqual([
      ['error', 'shown'],
      ['info', 'now shown'],
    ]);
    await agent.client.setLoggingLevel('emergency');
    log.error('above nothing');
    await settle();
    expect(lines).toHaveLength(2);
  });

  it('a level is per session: one client asking for errors only leaves the other at its own level', async () => {
    h = await harness();
    const a = await listening();
    const b = await listening();
    await a.agent.client.setLoggingLevel('error');
    await b.agent.client.setLoggingLevel('info');
    a.agent.server.ctx.logger.warn('a warns');
    b.agent.server.ctx.logger.info('b informs');
    await settle();
    expect(a.lines).toEqual([]);
    expect(b.lines.map((l) => l.data)).toEqual(['b informs']); // and no line of a's session
  });

  it('an unknown level is refused naming the field', async () => {
    h = await harness();
    const { agent } = await listening();
    const refused = agent.client.setLoggingLevel('loud' as LoggingLevel);
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.InvalidParams });
    await expect(refused).rejects.toThrow(/level: expected one of debug, info, notice, warning, error, critical, alert, emergency; got "loud"/);
  });

  it("a tool's warning reaches its caller, with secrets redacted and no stack frames", async () => {
    h = await harness({ config: { github: { owner: 'acme', repo: 'app' }, governance: { kill_switch_variable: 'FACTORY_KILL' } } });
    // No GITHUB_TOKEN: the first claim warns that the variable is not checked.
    const { agent, lines } = await listening({ env: {} });
    await agent.call('plan_mega', { key: 'G-1', title: 'Governed', phases: [{ id: 1, name: 'one' }] });
    expect(await agent.call('claim_phase', { mega: 'G-1', phase: 1 })).toMatchObject({ claimed: true });
    await settle();
    expect(lines).toContainEqual({ level: 'warning', logger: 'factory-mcp', data: expect.stringMatching(/kill switch variable FACTORY_KILL is configured but GITHUB_TOKEN is not set/) });
    const err = new Error('boom');
    agent.server.ctx.logger.error(`board failed: ${err.stack}`);
    await settle();
    expect(lines.at(-1)).toEqual({ level: 'error', logger: 'factory-mcp', data: 'board failed: Error: boom' });
    // A secret value of the server's environment never reaches a client.
    const other = await listening({ env: { GITHUB_TOKEN: 'ghp_logging_secret_value_0123456789' } });
    other.agent.server.ctx.logger.error('GitHub said no to ghp_logging_secret_value_0123456789');
    await settle();
    expect(other.lines).toHaveLength(1);
    expect(other.lines[0]?.data).not.toContain('ghp_logging_secret_value_0123456789');
  });
});
