import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_KILL_FILE, truthy, utcDayStart } from './domain.js';
import type { ClaimGuards } from '../phases/service.js';
import { gateWeakenings, mainCheckout } from '../core/config.js';
import type { Context, ServiceContext } from '../core/context.js';
import type { Sql, Stmt } from '../core/sql.js';

export type KillSource = 'env' | 'file' | 'github';

export interface KillState {
  on: boolean;
  source?: KillSource;
  message: string;
}

/**
 * Governance: the kill switch (FACTORY_KILL_SWITCH=1, a file under the repository root, or a
 * GitHub repository variable read through octokit and cached) and the daily cost cap. Claims and
 * completions consult it through ClaimGuards; reads never do.
 */
export class Governance {
  private killFiles: string[] | undefined;
  private repo: { owner: string; repo: string } | null | undefined;
  private github: { on: boolean; at: number } | null = null;
  private warned = false;

  constructor(private readonly opts: Pick<ServiceContext, 'config' | 'root' | 'store' | 'clock' | 'env' | 'logger'>) {}

  private get env(): NodeJS.ProcessEnv {
    return this.opts.env;
  }

  get autonomy(): number {
    return this.opts.config.autonomy;
  }

  get dailyCapUsd(): number | null {
    return this.opts.config.governance.daily_cost_cap_usd;
  }

  /** Reads the GitHub variable when one is configured and the cached value is older than the cache time. */
  async refresh(): Promise<void> {
    const g = this.opts.config.governance;
    if (!g.kill_switch_variable) return;
    const now = this.opts.clock();
    if (this.github && now - this.github.at < g.kill_switch_cache_seconds * 1000) return;
    // octokit loads on the first variable read, not at server start-up.
    const { githubClient, resolveGithubRepo } = await import('../integrations/github.js');
    const octo = githubClient(this.env);
    if (!octo) {
      if (!this.warned) this.opts.logger.warn(`kill switch variable ${g.kill_switch_variable} is configured but GITHUB_TOKEN is not set; it is not checked`);
      this.warned = true;
      return;
    }
    if (this.repo === undefined) this.repo = await resolveGithubRepo(this.opts.root, this.opts.config.github); // once: null is remembered too
    const slug = this.repo;
    if (!slug) {
      if (!this.warned)
        this.opts.logger.warn(`kill switch variable ${g.kill_switch_variable} is configured but no GitHub repository is known (config "github" or an origin remote); it is not checked`);
      this.warned = true;
      return;
    }
    const { owner, repo } = slug;
    try {
      const r = await octo.rest.actions.getRepoVariable({ owner, repo, name: g.kill_switch_variable, request: { signal: AbortSignal.timeout(5000) } });
      this.github = { on: truthy(r.data.value), at: now };
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status === 404) this.github = { on: false, at: now };
      else {
        // Other failures keep the last known value (off when never read) for one cache period, so
        // a GitHub outage costs one timeout per period, not one per claim.
        this.github = { on: this.github?.on ?? false, at: now };
        this.opts.logger.warn(`kill switch variable ${g.kill_switch_variable} of ${owner}/${repo} could not be read: ${(e as Error).message}`);
      }
    }
  }

  killSwitch(): KillState {
    if (truthy(this.env.FACTORY_KILL_SWITCH)) return { on: true, source: 'env', message: 'kill switch is on (FACTORY_KILL_SWITCH): no new claims or completions until it is cleared' };
    // The configured file and the default one: a config an agent can edit may add a kill file, never retire .factory/KILL.
    // Both in the main checkout, so a server started inside a claim's worktree obeys the repository's switch.
    for (const file of (this.killFiles ??= [...new Set([this.opts.config.governance.kill_switch_file, DEFAULT_KILL_FILE].map((f) => path.resolve(mainCheckout(this.opts.root), f)))])) {
      if (fs.existsSync(file))
        return { on: true, source: 'file', message: `kill switch is on (${path.relative(mainCheckout(this.opts.root), file)} exists): no new claims or completions until it is removed` };
    }
    if (this.github?.on) {
      const g = this.opts.config.governance;
      return {
        on: true,
        source: 'github',
        message: `kill switch is on (GitHub variable ${g.kill_switch_variable} of ${this.repo?.owner}/${this.repo?.repo}): no new claims or completions until it is cleared`,
      };
    }
    return { on: false, message: 'kill switch is off' };
  }

  costToday(): Promise<number> {
    return this.opts.store.usage.costSince(utcDayStart(this.opts.clock()));
  }

  async costCapReached(): Promise<boolean> {
    const cap = this.dailyCapUsd;
    return cap !== null && (await this.costToday()) >= cap;
  }

  guards(extra: ClaimGuards = {}): ClaimGuards {
    return {
      ...extra,
      // Only a GitHub variable needs reading before the transaction: without one, no await per call.
      prepare: this.opts.config.governance.kill_switch_variable
        ? async () => {
            await extra.prepare?.();
            await this.refresh();
          }
        : extra.prepare,
      beforeClaim: async () => {
        const k = this.killSwitch();
        if (k.on) return { reason: 'kill_switch', message: k.message };
        if (await this.costCapReached()) {
          return { reason: 'cost_cap', message: `today's recorded cost $${(await this.costToday()).toFixed(2)} reached the daily cap of $${this.dailyCapUsd}; no new claims until tomorrow (UTC)` };
        }
        return (await extra.beforeClaim?.()) ?? null;
      },
      beforeComplete: async () => {
        const k = this.killSwitch();
        return k.on ? { reason: 'kill_switch', message: k.message } : ((await extra.beforeComplete?.()) ?? null);
      },
    };
  }
}

/** A phase's latest claim and config_weakened entries, newest first (the engine caches the statement). */
function claimNotes(sql: Sql): Stmt<[string, string], { kind: string; data: string | null }> {
  return sql.prepare("SELECT kind, data FROM operations WHERE mega = ? AND phase = ? AND kind IN ('claim', 'config_weakened') ORDER BY seq DESC LIMIT 50");
}

/**
 * After a claim or a completion under a config that weakens gates (gateWeakenings): a
 * `config_weakened` entry in the operations log and the words the answer ends with. At a
 * completion it also names what the config weakened after the phase was claimed.
 */
export async function noteWeakenings(deps: Pick<Context, 'store' | 'config' | 'clock' | 'session'>, at: 'claim' | 'complete', mega: string, phase: string): Promise<string> {
  const settings = gateWeakenings(deps.config);
  if (!settings.length) return '';
  let since: string[] = [];
  if (at === 'complete') {
    const rows = await claimNotes(deps.store.sql).all(mega, phase);
    const i = rows.findIndex((r) => r.kind === 'claim');
    const atClaim = rows
      .slice(0, i < 0 ? rows.length : i)
      .map((r) => JSON.parse(r.data ?? '{}') as { at?: string; settings?: string[] })
      .find((d) => d.at === 'claim');
    since = settings.filter((s) => !(atClaim?.settings ?? []).includes(s));
  }
  const note = `config weakens gates: ${settings.join('; ')}${since.length ? ` (since the claim: ${since.join('; ')})` : ''}`;
  const instance = await deps.session.ensureInstance();
  await deps.store.tx(() =>
    deps.store.operations.append(deps.clock(), {
      instance,
      kind: 'config_weakened',
      mega,
      phase,
      message: `${at} of ${mega}/${phase} — ${note}`,
      data: { at, settings, ...(at === 'complete' ? { since_claim: since } : {}) },
    }),
  );
  return ` — ${note}`;
}
