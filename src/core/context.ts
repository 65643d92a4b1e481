import type { CreateMessageRequest, CreateMessageResult } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../../schemas/config.js';
import type { Logger } from './logger.js';
import type { Store } from './store.js';
import type { NewSession } from '../sessions/store.js';
import type { ClaimGuards } from '../phases/service.js';
import { beforeNextWrite, dropNextWrite } from './db.js';
import type { Governance } from '../governance/service.js';

/**
 * One server session's identity. The instance id (and the session row, and SESSION-START) is
 * allocated on first use: when the client first needs an identity (session_start, or a tool that
 * claims, checkpoints or writes). Listing tools, reading resources and read-only tools never
 * create one, so health checks and observers leave no session behind.
 */
export class Session {
  private id: string | null = null;
  private lastTouch = 0;
  private touchedBefore = 0;
  private touchError: Error | null = null;
  private readonly touchKey = {};
  private recorded = false;

  /**
   * `attach`: act as this existing session (a CLI session found by its key, src/cli/session.ts):
   * its row exists, and the process leaving does not end it.
   */
  constructor(
    private store: Store,
    private readonly info: NewSession,
    private readonly clock: () => number,
    private readonly random: () => number,
    readonly attached?: string,
  ) {
    if (attached !== undefined) {
      this.id = attached;
      this.recorded = true;
    }
  }

  /**
   * This session's instance id, allocated on first use. The id is reserved now (answers may carry
   * it); the row and SESSION-START are written by the first write transaction, together with it:
   * a call refused for bad input leaves no session.
   */
  async ensureInstance(): Promise<string> {
    if (this.id !== null) return this.id;
    this.reserving ??= this.reserve();
    return this.reserving;
  }

  /** The instance id when it is allocated already (no database read), else null. */
  get known(): string | null {
    return this.id;
  }

  private reserving: Promise<string> | null = null;

  private async reserve(): Promise<string> {
    const id = await this.store.sessions.reserve(this.random);
    // The server registers now, in a write of its own: registered inside the first call's
    // transaction, a refused call's rollback would take its row back while it goes on heartbeating
    // a row that is not there (and its sessions would have no server to be found dead by).
    const serverId = this.store.sql.inTx() ? null : ((await this.store.server?.ensure()) ?? null);
    this.id = id;
    beforeNextWrite(this.store.sql, this, async () => {
      const now = this.clock();
      await this.store.sessions.insert(id, { ...this.info, server_id: serverId ?? (await this.store.server?.ensure()) ?? null }, now);
      await this.store.operations.append(now, {
        instance: id,
        kind: 'session_start',
        message: `SESSION-START ${id} (${this.info.transport}${this.info.agent ? `, ${this.info.agent}` : ''})`,
        data: { pid: this.info.pid ?? null, agent: this.info.agent ?? null },
      });
      this.recorded = true;
      this.lastTouch = now; // the new row was seen now and holds no lease yet: nothing to refresh
    });
    return id;
  }

  /** Whether the session has a row (it wrote something). */
  get started(): boolean {
    return this.recorded;
  }

  /** The store moved (a database created on the first write, outside a git repository). */
  use(store: Store): void {
    this.store = store;
  }

  setAgent(agent: string | undefined): void {
    if (agent && !this.info.agent) this.info.agent = agent;
  }

  /**
   * A writing tool call refreshes the session's leases (reads never write). Throttled to once a
   * second per session: a refresh is a write, and an agent calling in a tight loop needs one, not
   * hundreds. A session that has no identity yet holds nothing to refresh. The refresh is no
   * transaction of its own: `touchWithCall()`, before the handler, defers it to the call's first
   * write transaction (one BEGIN … COMMIT per call); `touchAfterCall()` writes it alone only when
   * the call wrote nothing, and drops it when the call was refused.
   */
  touchWithCall(): void {
    if (!this.recorded || this.clock() - this.lastTouch < 1000) return;
    this.touchedBefore = this.lastTouch;
    beforeNextWrite(this.store.sql, this.touchKey, async () => {
      // A failed refresh (a full disk) must not cost the call its own writes: SQLite undid the
      // failed statement only (PostgreSQL: the nested tx is a savepoint), and the error is handed to touchAfterCall.
      try {
        await this.store.sql.tx(() => this.touchNow());
      } catch (e) {
        this.lastTouch = this.touchedBefore;
        this.touchError = e as Error;
      }
    });
  }

  /**
   * After the call: `accepted` false (it threw) drops a refresh not yet written; true writes one
   * the call's transactions did not take, and throws when the refresh failed.
   */
  async touchAfterCall(accepted: boolean): Promise<void> {
    const failed = this.touchError;
    this.touchError = null;
    if (dropNextWrite(this.store.sql, this.touchKey)) {
      this.lastTouch = this.touchedBefore; // still pending: never taken, or taken by a transaction that rolled back
      if (accepted) await this.touchNow();
    }
    if (failed && accepted) throw failed;
  }

  private async touchNow(): Promise<void> {
    this.lastTouch = this.clock();
    await this.store.phases.touch(await this.ensureInstance(), this.lastTouch);
  }
}

/**
 * The one context every handler and service gets. Services read the environment (secrets, API
 * URLs, PATH) from `env`, never from process.env: process.env is read once, where the process
 * starts (cli.ts, or createServer's default), so a test hands each server its own environment.
 */
export interface Context {
  store: Store;
  config: Config;
  root: string;
  session: Session;
  clock: () => number;
  random: () => number;
  /** The environment of this server: LINEAR_API_KEY, GITHUB_TOKEN, FACTORY_*_API_URL, FACTORY_KILL_SWITCH, PATH. */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  guards: ClaimGuards;
  /** Kill switch, cost cap, autonomy (built by createServer). */
  governance?: Governance;
  /**
   * Outside a git repository the database is created by the first write: called before every
   * tool that may write; returns a notice naming the new file the first time, else null.
   */
  materialize?: () => Promise<string | null>;
}

/**
 * The context as a service sees it: the same fields, where `session` is absent when no session
 * acts (the CLI's own commands, whose records carry no instance). A service takes
 * `Pick<ServiceContext, …>` of what it reads.
 */
export type ServiceContext = Pick<Context, 'store' | 'config' | 'root' | 'clock' | 'env' | 'logger'> & { session?: Pick<Session, 'ensureInstance'> | undefined };

/** The acting session's instance id, or null when none acts (the CLI). */
export async function actor(ctx: Pick<ServiceContext, 'session'>): Promise<string | null> {
  return ctx.session ? ctx.session.ensureInstance() : null;
}

/** What a handler gets for one call: cancellation and progress. */
export interface CallInfo {
  signal: AbortSignal;
  /** Present when the client declared sampling: asks the client's model (run_council). */
  sample?: ((params: CreateMessageRequest['params']) => Promise<CreateMessageResult>) | undefined;
  progress(progress: number, total?: number, message?: string): Promise<void>;
}
