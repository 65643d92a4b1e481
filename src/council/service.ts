import type { CreateMessageRequest, CreateMessageResult } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Config } from '../../schemas/config.js';
import type { RunCouncilOutput, SyncPlanOutput } from '../../schemas/council.js';
import { actor, type CallInfo, type ServiceContext } from '../core/context.js';
import {
  brief,
  decide,
  formatSources,
  gateState,
  parseReviewText,
  sameDescription,
  renderReport,
  resolvePersonas,
  REVIEW_SOURCES,
  validateReviews,
  type Persona,
  type PersonaId,
  type Review,
  type ReviewSource,
  type Subject,
  type Thresholds,
} from './domain.js';
import { phaseKey, type PhaseId } from '../core/ids.js';
import { planFromLinear, renderMegaChecklist } from '../phases/linear-plan.js';
import { InputError } from '../core/errors.js';
import { iso } from '../core/time.js';
import type * as LinearModule from '../integrations/linear.js';
import type { LinearFailureKind } from '../integrations/linear.js';

// @linear/sdk is large; load it on the first Linear call, not at server start-up.
let linearModule: typeof LinearModule | undefined;
const linear = async (): Promise<typeof LinearModule> => (linearModule ??= await import('../integrations/linear.js'));
import { runCommand } from '../integrations/run.js';
import type { Store } from '../core/store.js';
import { retryDelayMs } from '../core/outbox.js';
import { publishGates } from '../governance/statuses.js';
import { gatePoints, type ClaimGuards, type PhaseRef } from '../phases/service.js';

/**
 * The Council service, shared by the run_council / sync_plan tools and the CLI: gathers reviews
 * (caller → MCP sampling → reviewer command), decides, stores, posts to Linear through an
 * outbox, and guards claims of big phases.
 */

export type PostResult = { ok: true; url: string; message: string } | { ok: false; reason: 'no_linear_key' | 'disabled' | LinearFailureKind; message: string };

/** run_council's answer, as its output schema says (sources: where the reviews came from; self_reviewed when only from the caller). */
export type RunCouncilResult = z.output<typeof RunCouncilOutput>;

export function thresholds(config: Config): Thresholds {
  return { go: config.council.go_threshold, adjust: config.council.adjust_threshold };
}

export function personas(config: Config): Persona[] {
  return resolvePersonas(config.council.personas);
}

/** Runs a council on a subject. Never invents a score: without four valid reviews the answer is needs_reviews. */
export async function runCouncil(deps: ServiceContext, input: { subject: Subject; reviews?: unknown[] | undefined }, call?: Partial<CallInfo>): Promise<RunCouncilResult> {
  const subject = await resolveSubject(deps.store, input.subject);
  const before = await deps.store.councils.latestOnSubject(subject);
  if (before && sameDescription(before.subject.description, subject.description)) {
    throw new InputError(
      'subject.description',
      `unchanged since council #${before.id} on this subject (${before.verdict}): a council re-run on the same proposal decides nothing new — rework the proposal and say what changed in subject.description`,
    );
  }
  const all = personas(deps.config);
  let reviews: Review[] | null = null;
  let sources: ReviewSource[] = ['caller'];
  const notes: string[] = [];
  if (input.reviews !== undefined) {
    reviews = validateReviews(input.reviews, 'reviews');
  } else {
    const got = new Map<PersonaId, Review>();
    sources = [];
    let answered = 0;
    const onReview = async (p: Persona, r: Review) => {
      got.set(p.id, r);
      answered++;
      await call?.progress?.(answered, all.length, `${p.name}: ${r.score}/10`).catch(() => {});
    };
    if (call?.sample && deps.config.council.sampling) {
      const n = await sampleReviews(deps, all, subject, call.sample, onReview, notes);
      if (n) sources.push('sampling');
    }
    const missing = all.filter((p) => !got.has(p.id));
    if (missing.length && deps.config.council.reviewer_command) {
      const n = await commandReviews(deps, missing, subject, call?.signal, onReview, notes);
      if (n) sources.push('command');
    }
    if (got.size < all.length) {
      const need = all.filter((p) => !got.has(p.id));
      const why = notes.length ? ` (${notes.slice(0, 4).join('; ')})` : '';
      return {
        status: 'needs_reviews',
        personas: all.map((p) => ({ id: p.id, brief: brief(p, subject) })),
        message:
          `No verdict yet: ${need.map((p) => p.name).join(', ')} had no review${why}. ` +
          'Write one review per persona following its brief (JSON: persona, score 1-10, rationale, concerns, adjustments) and call run_council again with reviews.',
      };
    }
    reviews = all.map((p) => got.get(p.id) as Review);
  }
  return record(deps, subject, reviews, sources, all);
}

/**
 * A subject naming a phase must name a planned one (a council on a mistyped phase would never
 * open the gate); its points default to the phase's, its ticket to the phase's only ticket.
 * A MEGA alone may be unplanned yet.
 */
async function resolveSubject(store: Store, subject: Subject): Promise<Subject> {
  if (subject.phase === undefined) return subject;
  if (subject.mega === undefined) throw new InputError('subject.mega', 'required when subject.phase is given (a phase id is unique only within its MEGA)');
  let phases;
  try {
    phases = (await store.phases.board(subject.mega))[0]?.phases ?? [];
  } catch (e) {
    if (e instanceof InputError) throw new InputError('subject.mega', e.message.replace(/^mega: /, ''));
    throw e;
  }
  const key = phaseKey(subject.phase);
  const phase = phases.find((p) => phaseKey(p.id) === key);
  if (!phase)
    throw new InputError(
      'subject.phase',
      `unknown phase ${JSON.stringify(subject.phase)} in MEGA ${subject.mega} (known: ${phases
        .slice(0, 20)
        .map((p) => String(p.id))
        .join(', ')})`,
    );
  return {
    ...subject,
    phase: phase.id,
    ...(subject.points === undefined && phase.points !== null ? { points: phase.points } : {}),
    ...(subject.ticket === undefined && phase.tickets.length === 1 ? { ticket: phase.tickets[0] } : {}),
  };
}

async function record(deps: ServiceContext, subject: Subject, reviews: Review[], sources: ReviewSource[], all: Persona[]): Promise<RunCouncilResult> {
  const t = thresholds(deps.config);
  const decision = decide(reviews, t);
  const now = deps.clock();
  const L = subject.ticket && deps.config.council.post_to_linear ? await linear() : null;
  const client = L ? L.linearClient(deps.env) : null;
  const at = iso(now);
  const c = await deps.store.councils.record(
    await actor(deps),
    { subject, sources, reviews, decision, post: L !== null, render: (id) => renderReport({ id, subject, reviews, decision, thresholds: t, personas: all, sources, at }) },
    now,
  );
  if (subject.mega) void publishGates(deps, { mega: subject.mega, ...(subject.phase !== undefined ? { phase: phaseKey(subject.phase) } : {}) }); // factory/council on the PR
  let posted: PostResult | undefined;
  if (subject.ticket) {
    if (!deps.config.council.post_to_linear) posted = { ok: false, reason: 'disabled', message: 'posting to Linear is off (council.post_to_linear)' };
    else if (!client) {
      // Queued all the same: once the key is set, the next council, sync-plan or `council --retry` posts it.
      posted = { ok: false, reason: 'no_linear_key', message: `report not posted to ${subject.ticket} yet: ${(L as typeof LinearModule).NO_LINEAR_KEY}; it is kept and posted once the key is set` };
    } else {
      const [item] = await deps.store.councils.takeDue(now, { limit: 1, lockMs: POST_LOCK_MS, only: c.id });
      posted = item ? await deliver(deps, client, item) : { ok: false, reason: 'error', message: 'the report is queued; another session is posting it now' };
      await retryPosts(deps, { limit: 5 }).catch((e) => deps.logger.warn(`council outbox retry failed: ${(e as Error).message}`));
    }
  }
  const label = { go: 'GO', adjust: 'ADJUST', reject: 'REJECT' }[decision.verdict];
  const adjustments = decision.adjustments.map((a) => `${a.text} (${all.find((p) => p.id === a.persona)?.name ?? a.persona})`);
  return {
    status: 'decided',
    council_id: c.id,
    verdict: decision.verdict,
    average: decision.average,
    scores: decision.scores,
    adjustments,
    sources,
    self_reviewed: c.self_reviewed,
    report_markdown: c.report_markdown,
    ...(posted ? { posted } : {}),
    message:
      `Council #${c.id} (factory://council/${c.id}): ${label}, average ${decision.average.toFixed(2)} from ${formatSources(sources)} reviews${c.self_reviewed ? ' (self-reviewed)' : ''}.` +
      (decision.verdict === 'adjust' ? ` ${adjustments.length} mandatory adjustment${adjustments.length === 1 ? '' : 's'}: add them to the Definition of Done.` : '') +
      (decision.verdict === 'reject' ? ` Rework the proposal; claims stay blocked until ${overturn(deps.config, c.id)}.` : '') +
      (subject.mega !== undefined && decision.verdict !== 'reject' ? await gateNote(deps.store, deps.config, subject) : '') +
      (posted ? ` ${posted.message}` : ''),
  };
}

// ---------------------------------------------------------------- review sources

function textOf(r: CreateMessageResult | { content: unknown }): string {
  const blocks = Array.isArray(r.content) ? r.content : [r.content];
  return blocks.map((b) => (b && typeof b === 'object' && (b as { type?: string }).type === 'text' ? String((b as { text: unknown }).text) : '')).join('\n');
}

/** One sampling request per persona, in parallel; a malformed answer is re-asked once. Returns how many answered. */
async function sampleReviews(
  deps: ServiceContext,
  all: Persona[],
  subject: Subject,
  sample: NonNullable<CallInfo['sample']>,
  onReview: (p: Persona, r: Review) => Promise<void>,
  notes: string[],
): Promise<number> {
  const maxTokens = deps.config.council.sampling_max_tokens;
  const results = await Promise.all(
    all.map(async (p) => {
      const ask = brief(p, subject);
      const messages: CreateMessageRequest['params']['messages'] = [{ role: 'user', content: { type: 'text', text: ask } }];
      try {
        for (let attempt = 0; attempt < 2; attempt++) {
          const res = await sample({ messages, maxTokens, includeContext: 'none', systemPrompt: `You are ${p.name} on a review council. Answer only with the requested JSON.` });
          const text = textOf(res);
          const parsed = parseReviewText(text, p.id);
          if ('review' in parsed) {
            await onReview(p, parsed.review);
            return true;
          }
          const problem = `${parsed.problem.field}: ${parsed.problem.message}`;
          if (attempt === 1) notes.push(`${p.name} answered malformed JSON twice via sampling (${problem})`);
          messages.push(
            { role: 'assistant', content: { type: 'text', text: text.slice(0, 4000) } },
            {
              role: 'user',
              content: {
                type: 'text',
                text: `That answer could not be read (${problem}). Reply again with ONLY the JSON object: {"persona": "${p.id}", "score": <1-10>, "rationale": "...", "concerns": [...], "adjustments": [...]}`,
              },
            },
          );
        }
      } catch (e) {
        notes.push(`sampling for ${p.name} failed: ${(e as Error).message.slice(0, 200)}`);
      }
      return false;
    }),
  );
  return results.filter(Boolean).length;
}

/** The configured reviewer command, once per persona in parallel: the brief on stdin, a JSON review on stdout. */
async function commandReviews(
  deps: ServiceContext,
  missing: Persona[],
  subject: Subject,
  signal: AbortSignal | undefined,
  onReview: (p: Persona, r: Review) => Promise<void>,
  notes: string[],
): Promise<number> {
  const argv = deps.config.council.reviewer_command as string[];
  const results = await Promise.all(
    missing.map(async (p) => {
      const r = await runCommand(argv, {
        cwd: deps.root,
        timeoutMs: deps.config.council.reviewer_timeout_ms,
        maxOutputBytes: 64 * 1024,
        input: brief(p, subject),
        env: deps.env, // the allow-list of every command: the reviewer never sees our secrets
        passEnv: deps.config.council.pass_env,
        setEnv: { FACTORY_COUNCIL_PERSONA: p.id },
        ...(signal ? { signal } : {}),
      });
      const cmd = argv[0];
      if (r.spawnError) return (notes.push(`reviewer command ${cmd} could not start: ${r.spawnError}`), false);
      if (r.timedOut) return (notes.push(`reviewer command timed out for ${p.name}`), false);
      if (r.exitCode !== 0) return (notes.push(`reviewer command exited ${r.exitCode ?? r.signal} for ${p.name}`), false);
      const parsed = parseReviewText(r.stdout, p.id);
      if ('problem' in parsed) return (notes.push(`reviewer command gave no valid review for ${p.name} (${parsed.problem.field}: ${parsed.problem.message})`), false);
      await onReview(p, parsed.review);
      return true;
    }),
  );
  return results.filter(Boolean).length;
}

// ---------------------------------------------------------------- Linear outbox

const POST_LOCK_MS = 60_000;

async function deliver(
  deps: ServiceContext,
  client: NonNullable<ReturnType<typeof LinearModule.linearClient>>,
  item: { council: number; ticket: string; report: string; attempts: number },
): Promise<PostResult> {
  const { postComment, describeLinearError } = await linear();
  try {
    const { url } = await postComment(client, item.ticket, item.report);
    await deps.store.councils.markPosted(await actor(deps), item.council, url, deps.clock());
    return { ok: true, url, message: `Report posted to ${item.ticket}: ${url}` };
  } catch (e) {
    const f = describeLinearError(e);
    // Back off: the Retry-After Linear gave, else a minute per failed attempt (at most an hour).
    const wait = retryDelayMs(item.attempts, f.retry_after_ms);
    await deps.store.councils.markFailed(item.council, f.message, deps.clock(), f.kind === 'auth' ? 0 : wait);
    return { ok: false, reason: f.kind, message: `report not posted to ${item.ticket}: ${f.message}; it is kept and retried on the next council, sync-plan or \`factory-mcp council --retry\`` };
  }
}

export interface RetryResult {
  posted: { council: number; url: string }[];
  failed: { council: number; message: string }[];
  pending: number;
  message: string;
}

/** Retries queued report posts (due ones, or all with `force`). */
export async function retryPosts(deps: ServiceContext, opts: { limit?: number; force?: boolean } = {}): Promise<RetryResult> {
  const pendingBefore = await deps.store.councils.pendingPosts();
  if (pendingBefore === 0) return { posted: [], failed: [], pending: 0, message: 'no council report waits for Linear' };
  const { linearClient, NO_LINEAR_KEY } = await linear();
  const client = linearClient(deps.env);
  if (!client) return { posted: [], failed: [], pending: pendingBefore, message: `${pendingBefore} report(s) wait for Linear: ${NO_LINEAR_KEY}` };
  const items = await deps.store.councils.takeDue(deps.clock(), { limit: opts.limit ?? 50, lockMs: POST_LOCK_MS, force: opts.force === true });
  const out: RetryResult = { posted: [], failed: [], pending: 0, message: '' };
  for (const item of items) {
    const r = await deliver(deps, client, item);
    if (r.ok) out.posted.push({ council: item.council, url: r.url });
    else out.failed.push({ council: item.council, message: r.message });
  }
  out.pending = await deps.store.councils.pendingPosts();
  out.message = `posted ${out.posted.length}, failed ${out.failed.length}, ${out.pending} still waiting`;
  return out;
}

// ---------------------------------------------------------------- the claim gate

const gateOf = async (store: Store, config: Config, mega: string, phase: string) =>
  gateState(await store.councils.gateCouncils(mega, phase), { gate: config.council.gate_sources, supersede: config.council.supersede_sources });

/** How a reject is overturned: a human, or a council from the sources allowed to supersede it. */
function overturn(config: Config, id: number): string {
  const from = config.council.supersede_sources;
  return (
    `a human acknowledges council #${id} (dashboard: Councils → acknowledge, or \`factory-mcp ack council ${id}\` with FACTORY_ACK_TOKEN)` +
    (from.length ? ` or a council on a reworked proposal with reviews from ${from.join(' or ')} decides otherwise` : '') +
    ' — a council written by the caller does not lift it'
  );
}

/** After a go/adjust on a phase: says when it did not open the gate (a standing reject, or a source not in gate_sources). */
async function gateNote(store: Store, config: Config, subject: Subject): Promise<string> {
  const s = await gateOf(store, config, subject.mega as string, subject.phase === undefined ? '' : phaseKey(subject.phase));
  if (s.open || s.why === 'none') return '';
  return s.why === 'rejected'
    ? ` It does not open the gate: council #${s.reject.id}'s reject stands until ${overturn(config, s.reject.id)}.`
    : ` It does not open the gate: reviews from ${formatSources(s.council.sources)} are not in council.gate_sources (${config.council.gate_sources.join(', ')}).`;
}

/**
 * The council gate as a claim guard: a phase above `council.gate_points` is claimable only after
 * a council on it (or on its whole MEGA) decided go or adjust from reviews of a gate source, and
 * no later-standing reject (see gateState); a standing reject refuses the claim at any points.
 * Runs inside the claim transaction.
 */
export function councilGuards(store: Store, config: Config): Pick<ClaimGuards, 'phase'> {
  const limit = config.council.gate_points;
  return {
    phase: async (p: PhaseRef, maxPoints: number | null) => {
      const label = `${p.mega}/${p.id}`;
      const s = await gateOf(store, config, p.mega, phaseKey(p.id));
      if (s.open) return null;
      // The gate reads the most points the phase was ever planned with: re-planning it lower does not take it below.
      const points = gatePoints(maxPoints, p.points);
      const lowered = points !== p.points ? ` (planned at ${points} points before; re-planning it lower does not lift the gate)` : '';
      if (p.points === null || p.points <= limit) {
        // A reject stands whatever the points: a re-plan that lowers or drops them does not lift it.
        if (s.why === 'rejected')
          return {
            reason: 'council_required',
            message: `council #${s.reject.id} rejected ${label} (re-planned to ${p.points ?? 'no'} points, which does not lift it); it stands until ${overturn(config, s.reject.id)}`,
          };
        if (points === null || points <= limit) return null;
      }
      const how = `call run_council with subject {mega: "${p.mega}", phase: ${JSON.stringify(p.id)}, …}`;
      const message =
        s.why === 'none'
          ? `${label} has ${p.points ?? 'no'} points${lowered}${lowered ? '' : ` (> ${limit})`}: a council must decide go or adjust first (council.gate_points: ${limit}); ${how}`
          : s.why === 'rejected'
            ? `council #${s.reject.id} rejected ${label}${s.ignored.length ? ` (later council${s.ignored.length > 1 ? 's' : ''} ${s.ignored.map((c) => `#${c.id}`).join(', ')} from ${formatSources(s.ignored[s.ignored.length - 1]!.sources)} reviews cannot overturn it)` : ''}; it stands until ${overturn(config, s.reject.id)}`
            : `council #${s.council.id} on ${label} had reviews from ${formatSources(s.council.sources)}, which may not open the gate (council.gate_sources: ${config.council.gate_sources.join(', ')}); ${how} with reviews from one of those`;
      return { reason: 'council_required', message };
    },
  };
}

/**
 * Before a re-plan: a phase whose council reject stands cannot be dropped (and planned again under
 * another id, where the agent's own council would open the gate); InputError naming `phases`.
 */
export async function keepRejectedPhases(store: Store, config: Config, mega: string, keep: readonly PhaseId[]): Promise<void> {
  const kept = new Set(keep.map(phaseKey));
  const planned = await store.sql.prepare<[string], { id: string }>('SELECT id FROM phases WHERE mega = ? AND completed_at IS NULL').all(mega);
  for (const { id } of planned) {
    if (kept.has(id)) continue;
    const s = await gateOf(store, config, mega, id);
    if (!s.open && s.why === 'rejected') throw new InputError('phases', `phase ${id} has a standing reject (council #${s.reject.id}); a re-plan must keep it until ${overturn(config, s.reject.id)}`);
  }
}

/**
 * DoD items from the council: when the council deciding a phase said `adjust`, each of its
 * adjustments is mandatory and counts as done once a checkpoint of the phase, written after the
 * council, lists it in `done` or `note` — by its text or by its item id (`council3.1`).
 */
export async function councilAdjustmentItems(q: { store: Store; mega: string; phase: string }): Promise<{ id: string; ok: boolean; detail: string }[]> {
  const s = gateState(await q.store.councils.gateCouncils(q.mega, q.phase), { gate: REVIEW_SOURCES, supersede: REVIEW_SOURCES });
  if (!s.open || s.by.verdict !== 'adjust') return [];
  const council = await q.store.councils.get(s.by.id);
  if (!council) return [];
  const since = Date.parse(council.created_at);
  const said = (await q.store.checkpoints.ofPhaseSince(q.mega, q.phase, since))
    .flatMap((c) => [...c.done, c.note ?? ''])
    .join('\n')
    .toLowerCase();
  return council.adjustments.map((a, i) => {
    const id = `council${council.id}.${i + 1}`;
    const ok = said.includes(a.text.toLowerCase()) || said.includes(id);
    return {
      id,
      ok,
      detail: ok ? `done: ${a.text}` : `council #${council.id} (${a.persona}) requires: ${a.text} — when done, checkpoint it (done: ["${id}"] or the text)`,
    };
  });
}

// ---------------------------------------------------------------- sync_plan

/** sync_plan's answer, as its output schema says. */
export type SyncPlanResult = z.output<typeof SyncPlanOutput>;

/** Reads a MEGA and its sub-issues from Linear into the plan (plan_mega semantics) and renders it as a checklist. */
export async function syncPlan(deps: ServiceContext, key: string): Promise<SyncPlanResult> {
  const { linearClient, NO_LINEAR_KEY, fetchMega, describeLinearError } = await linear();
  const client = linearClient(deps.env);
  if (!client) return { synced: false, reason: 'no_linear_key', message: NO_LINEAR_KEY };
  let mega;
  try {
    mega = await fetchMega(client, key);
  } catch (e) {
    const f = describeLinearError(e);
    return { synced: false, reason: f.kind, message: `could not read ${key} from Linear: ${f.message}` };
  }
  const plan = planFromLinear(mega);
  if (plan.phases.length === 0) return { synced: false, reason: 'no_children', message: `${key} has no sub-issues in Linear: add sub-issues (one per phase) first` };
  const now = deps.clock();
  const instance = (await actor(deps)) ?? 'cli';
  let res;
  try {
    res = await deps.store.tx(async () => {
      const planned = await deps.store.phases.plan(instance, { key: plan.key, title: plan.title, source: plan.source, phases: plan.phases }, now);
      const done = await deps.store.phases.markDone(instance, plan.key, plan.done, now, 'Linear');
      return { planned, done };
    });
  } catch (e) {
    if (e instanceof InputError) return { synced: false, reason: 'invalid_plan', message: `${key} from Linear is not a valid plan: ${e.message}` };
    throw e;
  }
  const [board] = await deps.store.phases.board(plan.key);
  const phases = board?.phases ?? [];
  const ready = phases.filter((p) => p.status === 'ready').map((p) => p.id);
  const doneCount = phases.filter((p) => p.status === 'done').length;
  await retryPosts(deps, { limit: 5 }).catch((e) => deps.logger.warn(`council outbox retry failed: ${(e as Error).message}`));
  const ext = plan.external_blockers.length ? `; ${plan.external_blockers.length} blocker(s) outside the MEGA ignored` : '';
  return {
    synced: true,
    mega: plan.key,
    phases: plan.phases.length,
    done: doneCount,
    ready,
    ...(res.done.skipped.length ? { skipped_claimed: res.done.skipped } : {}),
    plan_markdown: renderMegaChecklist({ key: plan.key, title: plan.title, source: plan.source, phases }),
    message: `${res.planned.created ? 'Planned' : 'Re-planned'} ${plan.key} from Linear: ${plan.phases.length} phases, ${doneCount} done, ready: ${ready.map(String).join(', ') || 'none'}${ext}`,
  };
}
