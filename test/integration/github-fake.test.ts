import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubClient, parseGithubRemote } from '../../src/integrations/github.js';
import { FakeGitHub } from '../fakes/github.js';

let gh: FakeGitHub;
beforeAll(async () => {
  gh = await new FakeGitHub().start();
});
afterAll(async () => {
  await gh.stop();
});

describe('the real octokit client against the local fake GitHub', () => {
  it('reads a repository variable and sends the token', async () => {
    gh.variables.set('acme/app/FACTORY_KILL', '1');
    const octo = githubClient(gh.env());
    const r = await octo!.rest.actions.getRepoVariable({ owner: 'acme', repo: 'app', name: 'FACTORY_KILL' });
    expect(r.data.value).toBe('1');
    const req = gh.requests.at(-1)!;
    expect(req.path).toBe('/repos/acme/app/actions/variables/FACTORY_KILL');
    expect(req.headers.authorization).toBe('token test-token');
  });

  it('answers 401 to a wrong token, which octokit raises as an error with status', async () => {
    const octo = githubClient({ ...gh.env(), GITHUB_TOKEN: 'wrong' });
    await expect(octo!.rest.pulls.list({ owner: 'acme', repo: 'app' })).rejects.toMatchObject({ status: 401 });
  });

  it('is null without a token', () => {
    expect(githubClient({})).toBeNull();
  });

  it('parses owner/repo from remotes', () => {
    expect(parseGithubRemote('git@github.com:acme/app.git')).toEqual({ owner: 'acme', repo: 'app' });
    expect(parseGithubRemote('https://github.com/acme/app')).toEqual({ owner: 'acme', repo: 'app' });
    expect(parseGithubRemote('https://gitlab.com/acme/app')).toBeNull();
  });
});
