import type { CreateMessageRequest, CreateMessageResult } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../schemas/config.js';
import type { Logger } from './logger.js';
import type { Store } from './store/index.js';
import type { NewSession } from './store/sessions.js';
import type { ClaimGuards } from './store/phases.js';
import { writeTx } from './store/db.js';
import type { Governance } from './governance.js';

/**
 * One server session's identity. The instance id is allocated when the client finishes
 * initializing (or on first use, for callers outside MCP such as the CLI).
 */
export class Session {
  private id: string | null = null;
  private lastTouch = 0;

  constructor(
    private readonly store: Store,
    private readonly info: NewSession,
    private readonly clock: () => number,
    private readonly random: () => number,
  ) {}

  get instance(): string {
    if (this.id === null) {
      const now = this.clock();
      this.id = writeTx(this.store.db, () => {
        const row = this.store.sessions.create(this.info, now, this.random);
        this.store.operations.append(now, { instance: row.instance, kind: 'session_start', message: `SESSION-START ${row.instance} (${this.info.transport}${this.info.agent ? `, ${this.info.agent}` : ''})`, data: { pid: this.info.pid ?? null, agent: this.info.agent ?? null } });
        return row.instance;
      });
    }
    return this.id;
  }

  get started(): boolean {
    return this.id !== null;
  }

  setAgent(agent: string | undefined): void {
    if (agent && !this.info.agent) this.info.agent = agent;
  }

  /**
   * Any tool call refreshes the session's leases. Throttled to once a second per session:
   * a refresh is a write, and an agent calling in a tight loop needs one, not hundreds.
   */
  touch(): void {
    const now = this.clock();
    if (now - this.lastTouch < 1000) return;
    this.lastTouch = now;
    this.store.phases.touch(this.instance, now);
  }
}

export interface Context {
  store: Store;
  config: Config;
  root: string;
  session: Session;
  clock: () => number;
  random: () => number;
  logger: Logger;
  guards: ClaimGuards;
  /** Kill switch, cost cap, autonomy (built by createServer). */
  governance?: Governance;
}

/** What a handler gets for one call: cancellation and progress. */
export interface CallInfo {
  signal: AbortSignal;
  /** Present when the client declared sampling: asks the client's model (run_council). */
  sample?: ((params: CreateMessageRequest['params']) => Promise<CreateMessageResult>) | undefined;
  progress(progress: number, total?: number, message?: string): Promise<void>;
}
