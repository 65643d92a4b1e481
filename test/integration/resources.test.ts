import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/server.js';

const h = useHarness();

describe('resources', () => {
  it('lists the board and the MEGA template, and reads both', async () => {
    const a = await h.connect();
    await a.call('plan_mega', { key: 'R-1', title: 'Resources', phases: [{ id: 1, name: 'First phase', points: 2 }] });
    const list = await a.client.listResources();
    expect(list.resources.map((r) => r.uri)).toContain('factory://board');
    const templates = await a.client.listResourceTemplates();
    expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toContain('factory://mega/{key}');
    const board = await a.client.readResource({ uri: 'factory://board' });
    expect((board.contents[0] as { text: string }).text).toContain('R-1  Resources');
    const mega = await a.client.readResource({ uri: 'factory://mega/R-1' });
    expect(JSON.parse((mega.contents[0] as { text: string }).text)).toMatchObject({ key: 'R-1', total: 1 });
  });

  it('an unknown MEGA or resource is an error naming it', async () => {
    const a = await h.connect();
    await expect(a.client.readResource({ uri: 'factory://mega/NOPE-1' })).rejects.toThrow(/unknown MEGA "NOPE-1"/);
    await expect(a.client.readResource({ uri: 'factory://nothing' })).rejects.toThrow(/unknown resource/);
  });
});
