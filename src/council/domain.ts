import { InputError } from '../core/errors.js';

/**
 * The Council: four personas score a proposal 1–10 before big work starts; the average decides.
 * Pure logic only (briefs, validation, verdict, report); callers fetch the reviews and store them.
 */

export type PersonaId = 'chucky' | 'oss_killer' | 'archi' | 'saul';
export const PERSONA_IDS: readonly PersonaId[] = ['chucky', 'oss_killer', 'archi', 'saul'];

export interface Persona {
  id: PersonaId;
  name: string;
  role: string;
  focus: string[];
  /** What earns a low score from this persona. */
  low_score: string;
  /** Extra instructions from the config, appended to the brief. */
  extra?: string | undefined;
}

export const PERSONAS: readonly Persona[] = [
  {
    id: 'chucky',
    name: 'Chucky',
    role: "devil's advocate who assumes the plan will go wrong and looks for how",
    focus: ['risk and failure modes', 'hidden complexity and unknowns', 'scope creep and optimistic estimates'],
    low_score: 'vague scope, no rollback or failure plan, estimates that ignore integration and migration work, several big changes bundled into one',
  },
  {
    id: 'oss_killer',
    name: 'OSS Killer',
    role: 'VC skeptic who asks whether this is worth building at all',
    focus: ['market value for users', 'competitive moat (could an open-source project or a competitor replace it in a weekend?)', 'return on the points spent'],
    low_score: 'effort with no user-visible value, reinventing a well-kept library or service, no measure of success',
  },
  {
    id: 'archi',
    name: 'Archi 50x50',
    role: 'veteran architect with fifty years on fifty systems',
    focus: ['technical quality and fit with the existing design', 'maintainability and testability', 'sound patterns, clear boundaries, data migrations'],
    low_score: 'tangled responsibilities, no tests or migration path, a new pattern where an existing one fits, state that cannot be recovered',
  },
  {
    id: 'saul',
    name: 'Better Call Saul',
    role: 'legal and compliance counsel',
    focus: ['licenses of code and dependencies', 'GDPR and personal data', 'terms of service of the APIs used', 'competitive or marketing claims'],
    low_score: 'copyleft code in a proprietary product, personal data without a basis or retention limit, scraping against terms of service, unprovable claims',
  },
];

export interface PersonaOverride {
  name?: string | undefined;
  role?: string | undefined;
  focus?: string[] | undefined;
  low_score?: string | undefined;
  extra?: string | undefined;
}

/** The four personas with the config's overrides (replacing fields) and extensions (`extra`) applied. */
export function resolvePersonas(overrides: Partial<Record<PersonaId, PersonaOverride>> = {}): Persona[] {
  return PERSONAS.map((p) => {
    const o = overrides[p.id];
    if (!o) return { ...p };
    return {
      ...p,
      name: o.name ?? p.name,
      role: o.role ?? p.role,
      focus: o.focus ?? p.focus,
      low_score: o.low_score ?? p.low_score,
      extra: o.extra,
    };
  });
}

export interface Subject {
  title: string;
  description: string;
  points?: number | undefined;
  phase?: number | string | undefined;
  mega?: string | undefined;
  ticket?: string | undefined;
}

export interface Review {
  persona: PersonaId;
  score: number;
  rationale: string;
  concerns: string[];
  adjustments: string[];
}

export type Verdict = 'go' | 'adjust' | 'reject';

export interface Thresholds {
  go: number;
  adjust: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { go: 8.0, adjust: 6.0 };

export interface Decision {
  verdict: Verdict;
  average: number;
  scores: Record<PersonaId, number>;
  /** Every persona's adjustments; mandatory (they become DoD items) when the verdict is `adjust`. */
  adjustments: { persona: PersonaId; text: string }[];
}

/** The subject as a few lines, for briefs and reports. */
export function describeSubject(s: Subject): string {
  const meta = [
    s.mega !== undefined ? `MEGA ${s.mega}` : null,
    s.phase !== undefined ? `phase ${s.phase}` : null,
    s.points !== undefined ? `${s.points} story points` : null,
    s.ticket !== undefined ? `ticket ${s.ticket}` : null,
  ].filter(Boolean);
  return `Title: ${s.title}${meta.length ? `\n(${meta.join(', ')})` : ''}\n\n${s.description}`;
}

/** A persona's brief: who it is, what it weighs, what scores low, and the exact JSON to answer with. */
export function brief(p: Persona, subject?: Subject): string {
  const lines = [
    `You are ${p.name}, ${p.role}, on a council of four that reviews a proposal before an engineer implements it.`,
    `Focus on: ${p.focus.join('; ')}.`,
    `A low score (1–5) is earned by: ${p.low_score}.`,
    'Score 1–10 (10 = implement as proposed). Be concrete: name the risk and the change that would fix it.',
  ];
  if (p.extra) lines.push(p.extra);
  lines.push(
    'Answer with ONLY this JSON object, no prose around it:',
    `{"persona": "${p.id}", "score": <1-10>, "rationale": "<2-4 sentences>", "concerns": ["..."], "adjustments": ["<a change that would raise your score>"]}`,
  );
  if (subject) lines.push('', 'The proposal:', describeSubject(subject));
  return lines.join('\n');
}

/** Rounds to two decimals, away from binary noise (so 7.9+8.1 averages to exactly 8). */
export function round2(n: number): number {
  return Math.round((n + Number.EPSILON) * 100) / 100;
}

/** The verdict for an average: ≥ go → go, ≥ adjust → adjust, else reject. */
export function verdictFor(average: number, t: Thresholds = DEFAULT_THRESHOLDS): Verdict {
  const a = Math.round(average * 1e6) / 1e6; // compare without floating-point dust
  if (a >= t.go) return 'go';
  if (a >= t.adjust) return 'adjust';
  return 'reject';
}

export function decide(reviews: readonly Review[], t: Thresholds = DEFAULT_THRESHOLDS): Decision {
  const sum = reviews.reduce((a, r) => a + r.score, 0);
  const average = sum / reviews.length;
  const scores = Object.fromEntries(reviews.map((r) => [r.persona, r.score])) as Record<PersonaId, number>;
  return {
    verdict: verdictFor(average, t),
    average: round2(average),
    scores,
    adjustments: reviews.flatMap((r) => r.adjustments.map((text) => ({ persona: r.persona, text }))),
  };
}

/** One problem in one review: the field (as a path) and what is wrong. */
export interface ReviewProblem {
  field: string;
  message: string;
}

/** Bounds on one review, so a runaway model or agent cannot bloat the database. */
export const REVIEW_LIMITS = { rationale: 5000, items: 30, item: 1000 } as const;

const isPersona = (s: unknown): s is PersonaId => typeof s === 'string' && (PERSONA_IDS as readonly string[]).includes(s);

/**
 * Checks one review object (from a caller, a model or a command). `path` prefixes field names,
 * e.g. `reviews[2]`. Returns the review or the first problem.
 */
export function checkReview(raw: unknown, path: string): { review: Review } | { problem: ReviewProblem } {
  const at = (f: string) => (path ? `${path}.${f}` : f);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problem: { field: path || '(review)', message: 'must be an object' } };
  const r = raw as Record<string, unknown>;
  if (!isPersona(r.persona)) return { problem: { field: at('persona'), message: `unknown persona ${JSON.stringify(r.persona)} (expected one of ${PERSONA_IDS.join(', ')})` } };
  if (typeof r.score !== 'number' || !Number.isFinite(r.score) || r.score < 1 || r.score > 10) {
    return { problem: { field: at('score'), message: `must be a number from 1 to 10, got ${JSON.stringify(r.score)}` } };
  }
  if (typeof r.rationale !== 'string' || !r.rationale.trim()) return { problem: { field: at('rationale'), message: 'must be a non-empty string' } };
  if (r.rationale.length > REVIEW_LIMITS.rationale) return { problem: { field: at('rationale'), message: `too long (at most ${REVIEW_LIMITS.rationale} characters)` } };
  for (const list of ['concerns', 'adjustments'] as const) {
    const v = r[list] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return { problem: { field: at(list), message: 'must be a list of strings' } };
    if (v.length > REVIEW_LIMITS.items) return { problem: { field: at(list), message: `at most ${REVIEW_LIMITS.items} entries` } };
    const long = (v as string[]).findIndex((x) => x.length > REVIEW_LIMITS.item);
    if (long >= 0) return { problem: { field: `${at(list)}[${long}]`, message: `too long (at most ${REVIEW_LIMITS.item} characters)` } };
  }
  return {
    review: {
      persona: r.persona,
      score: r.score,
      rationale: r.rationale.trim(),
      concerns: ((r.concerns ?? []) as string[]).map((s) => s.trim()).filter(Boolean),
      adjustments: ((r.adjustments ?? []) as string[]).map((s) => s.trim()).filter(Boolean),
    },
  };
}

/**
 * Validates a full set of reviews: every one well formed, no persona twice, none missing.
 * Throws InputError naming the field (`reviews[2].persona`, `reviews[1].score`, `reviews`).
 */
export function validateReviews(raw: readonly unknown[], field = 'reviews'): Review[] {
  const out: Review[] = [];
  const seen = new Map<PersonaId, number>();
  raw.forEach((r, i) => {
    const c = checkReview(r, `${field}[${i}]`);
    if ('problem' in c) throw new InputError(c.problem.field, c.problem.message);
    const prev = seen.get(c.review.persona);
    if (prev !== undefined) throw new InputError(`${field}[${i}].persona`, `duplicate persona ${c.review.persona} (already in ${field}[${prev}])`);
    seen.set(c.review.persona, i);
    out.push(c.review);
  });
  const missing = PERSONA_IDS.filter((p) => !seen.has(p));
  if (missing.length) throw new InputError(field, `missing persona${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: all four must review`);
  return PERSONA_IDS.map((p) => out[seen.get(p) as number] as Review);
}

/**
 * Reads a review from a model's or command's text: the JSON object in it (bare, or in a ```json
 * fence, or surrounded by prose). The persona defaults to the one asked.
 */
export function parseReviewText(text: string, persona: PersonaId): { review: Review } | { problem: ReviewProblem } {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  const candidate = fenced ? (fenced[1] as string) : text;
  const start = candidate.indexOf('{');
  const end = candidate.lastIndexOf('}');
  if (start < 0 || end <= start) return { problem: { field: '(answer)', message: 'no JSON object found' } };
  let obj: unknown;
  try {
    obj = JSON.parse(candidate.slice(start, end + 1));
  } catch (e) {
    return { problem: { field: '(answer)', message: `not valid JSON (${(e as Error).message})` } };
  }
  if (typeof obj === 'object' && obj !== null && !Array.isArray(obj)) {
    const o = obj as Record<string, unknown>;
    if (o.persona === undefined) o.persona = persona;
    if (o.persona !== persona) return { problem: { field: 'persona', message: `answered as ${JSON.stringify(o.persona)}, expected ${persona}` } };
  }
  return checkReview(obj, '');
}

// ---------------------------------------------------------------- where reviews came from

/** Who wrote a council's reviews: the calling agent, its client's model (MCP sampling), or the configured reviewer command. */
export type ReviewSource = 'caller' | 'sampling' | 'command';
export const REVIEW_SOURCES: readonly ReviewSource[] = ['caller', 'sampling', 'command'];

/** The stored `source` text as a set ("sampling+command"; rows written before said "reviewer command"). */
export function parseSources(text: string): ReviewSource[] {
  const out = REVIEW_SOURCES.filter((s) => text.includes(s));
  return out.length ? out : ['caller'];
}

export const formatSources = (sources: readonly ReviewSource[]): string => sources.join('+');

/** A council whose every review came from the agent that asked for it. */
export const isSelfReviewed = (sources: readonly ReviewSource[]): boolean => sources.every((s) => s === 'caller');

export interface GateCouncil {
  id: number;
  verdict: Verdict;
  sources: ReviewSource[];
  /** A human acknowledged this (rejecting) council. */
  acknowledged: boolean;
}

export type GateState =
  | { open: true; by: GateCouncil }
  | { open: false; why: 'none' }
  /** A reject stands: the councils after it had reviews from sources that may not supersede it. */
  | { open: false; why: 'rejected'; reject: GateCouncil; ignored: GateCouncil[] }
  /** The deciding go/adjust came from sources that may not open the gate. */
  | { open: false; why: 'source'; council: GateCouncil };

/**
 * The council gate over a subject's councils, oldest first. A go/adjust opens it when all its
 * reviews come from `gate` sources; a reject closes it until a human acknowledges that reject or
 * a later council whose reviews all come from `supersede` sources decides otherwise — a council
 * written by the agent itself after a reject does not count.
 */
export function gateState(councils: readonly GateCouncil[], cfg: { gate: readonly ReviewSource[]; supersede: readonly ReviewSource[] }): GateState {
  const within = (c: GateCouncil, allowed: readonly ReviewSource[]) => c.sources.every((s) => allowed.includes(s));
  let state: GateState = { open: false, why: 'none' };
  for (const c of councils) {
    if (!state.open && state.why === 'rejected' && !within(c, cfg.supersede)) {
      state.ignored.push(c);
      continue;
    }
    if (c.verdict === 'reject') state = c.acknowledged ? { open: true, by: c } : { open: false, why: 'rejected', reject: c, ignored: [] };
    else if (within(c, cfg.gate)) state = { open: true, by: c };
    else if (!state.open) state = { open: false, why: 'source', council: c };
  }
  return state;
}

/** Whitespace-insensitive form of a proposal's description, to spot a council re-run on an unchanged proposal. */
export const sameDescription = (a: string, b: string): boolean => a.replace(/\s+/g, ' ').trim() === b.replace(/\s+/g, ' ').trim();

const VERDICT_LABEL: Record<Verdict, string> = { go: 'GO', adjust: 'ADJUST', reject: 'REJECT' };

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** The council report as Markdown: verdict, scores table, each persona's rationale, concerns and adjustments. */
export function renderReport(opts: {
  id?: number | undefined;
  subject: Subject;
  reviews: readonly Review[];
  decision: Decision;
  thresholds: Thresholds;
  personas: readonly Persona[];
  sources: readonly ReviewSource[];
  at?: string | undefined;
}): string {
  const { subject, reviews, decision, thresholds, personas } = opts;
  const name = (id: PersonaId) => personas.find((p) => p.id === id)?.name ?? id;
  const out: string[] = [];
  out.push(`## Council${opts.id !== undefined ? ` #${opts.id}` : ''}: ${subject.title}`, '');
  out.push(`**Verdict: ${VERDICT_LABEL[decision.verdict]}** — average ${decision.average.toFixed(2)}/10 (go ≥ ${thresholds.go}, adjust ≥ ${thresholds.adjust})`, '');
  const meta = [
    subject.mega !== undefined ? `MEGA ${subject.mega}` : null,
    subject.phase !== undefined ? `phase ${subject.phase}` : null,
    subject.points !== undefined ? `${subject.points} points` : null,
    subject.ticket !== undefined ? `ticket ${subject.ticket}` : null,
    `reviews from ${formatSources(opts.sources)}`,
    opts.at ?? null,
  ].filter(Boolean);
  out.push(`_${meta.join(' · ')}_`, '');
  if (isSelfReviewed(opts.sources)) out.push('> **Self-reviewed:** every review was written by the agent that asked for this council, not by an independent reviewer.', '');
  out.push('| Persona | Score | Rationale |', '|---|---:|---|');
  for (const r of reviews) out.push(`| ${name(r.persona)} | ${r.score} | ${cell(r.rationale)} |`);
  out.push('');
  for (const r of reviews) {
    out.push(`### ${name(r.persona)} — ${r.score}/10`, '', r.rationale, '');
    if (r.concerns.length) out.push('Concerns:', ...r.concerns.map((c) => `- ${c}`), '');
    if (r.adjustments.length) out.push('Adjustments:', ...r.adjustments.map((a) => `- ${a}`), '');
  }
  if (decision.verdict === 'adjust') {
    out.push('### Mandatory adjustments', '');
    if (decision.adjustments.length) out.push(...decision.adjustments.map((a) => `- [ ] ${a.text} (${name(a.persona)})`));
    else out.push('- (no persona proposed one: state how the concerns above are addressed)');
    out.push('');
  } else if (decision.verdict === 'reject') {
    out.push('### Rejected', '', 'Rework the proposal and run a new council before claiming this work.', '');
  }
  return out.join('\n').trimEnd() + '\n';
}
