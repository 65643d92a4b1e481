import { describe, expect, it } from 'vitest';
import { brief, decide, parseReviewText, PERSONAS, renderReport, resolvePersonas, validateReviews, verdictFor, type PersonaId, type Review } from '../../src/council/domain.js';
import { InputError } from '../../src/core/errors.js';

const review = (persona: PersonaId, score: number, adjustments: string[] = []): Review => ({ persona, score, rationale: `${persona} says so`, concerns: [], adjustments });
const four = (scores: [number, number, number, number]) => (['chucky', 'oss_killer', 'archi', 'saul'] as const).map((p, i) => review(p, scores[i] as number));

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('council verdict', () => {
  it('decides at the boundaries 8.0 / 7.99 / 6.0 / 5.99', () => {
    expect(verdictFor(8.0)).toBe('go');
    expect(verdictFor(7.99)).toBe('adjust');
    expect(verdictFor(6.0)).toBe('adjust');
    expect(verdictFor(5.99)).toBe('reject');
    expect(verdictFor(10)).toBe('go');
    expect(verdictFor(1)).toBe('reject');
  });

  it('averages four reviews, including sums that float arithmetic gets slightly wrong', () => {
    expect(decide(four([8, 8, 8, 8]))).toMatchObject({ verdict: 'go', average: 8 });
    expect(decide(four([7.9, 8.1, 8.2, 7.8]))).toMatchObject({ verdict: 'go', average: 8 });
    expect(decide(four([8, 8, 8, 7.96]))).toMatchObject({ verdict: 'adjust', average: 7.99 });
    expect(decide(four([6, 6, 6, 6]))).toMatchObject({ verdict: 'adjust', average: 6 });
    expect(decide(four([6, 6, 6, 5.96]))).toMatchObject({ verdict: 'reject', average: 5.99 });
  });

  it('uses configured thresholds', () => {
    expect(verdictFor(8.5, { go: 9, adjust: 7 })).toBe('adjust');
    expect(verdictFor(6.5, { go: 9, adjust: 7 })).toBe('reject');
  });

  it('lists every adjustment as mandatory when the verdict is adjust', () => {
    const reviews = four([7, 7, 7, 7]);
    reviews[0] = review('chucky', 7, ['split the migration']);
    reviews[3] = review('saul', 7, ['check the MIT notice']);
    const d = decide(reviews);
    expect(d.adjustments).toEqual([
      { persona: 'chucky', text: 'split the migration' },
      { persona: 'saul', text: 'check the MIT notice' },
    ]);
    const md = renderReport({ subject: { title: 'T', description: 'd', points: 8 }, reviews, decision: d, thresholds: { go: 8, adjust: 6 }, personas: PERSONAS, sources: ['caller'] });
    expect(md).toContain('**Verdict: ADJUST** — average 7.00/10');
    expect(md).toContain('| Chucky | 7 | chucky says so |');
    expect(md).toContain('### Mandatory adjustments');
    expect(md).toContain('- [ ] split the migration (Chucky)');
    expect(md).toContain('- [ ] check the MIT notice (Better Call Saul)');
  });
});

describe('council validation', () => {
  it('accepts four personas in any order and returns them in canonical order', () => {
    const r = validateReviews([review('saul', 9), review('archi', 8), review('chucky', 7), review('oss_killer', 8)]);
    expect(r.map((x) => x.persona)).toEqual(['chucky', 'oss_killer', 'archi', 'saul']);
  });

  it('names a score outside 1–10', () => {
    const e = inputError(() => validateReviews([review('chucky', 8), review('oss_killer', 11), review('archi', 8), review('saul', 8)]));
    expect(e.field).toBe('reviews[1].score');
    expect(inputError(() => validateReviews([review('chucky', 0.5), review('oss_killer', 8), review('archi', 8), review('saul', 8)])).field).toBe('reviews[0].score');
  });

  it('names a duplicate persona, an unknown one, and the missing ones', () => {
    const dup = inputError(() => validateReviews([review('chucky', 8), review('archi', 8), review('chucky', 8), review('saul', 8)]));
    expect(dup.field).toBe('reviews[2].persona');
    expect(dup.message).toContain('duplicate persona chucky');
    const unknown = inputError(() => validateReviews([{ ...review('chucky', 8), persona: 'yoda' }]));
    expect(unknown.field).toBe('reviews[0].persona');
    const missing = inputError(() => validateReviews([review('chucky', 8), review('archi', 8)]));
    expect(missing.field).toBe('reviews');
    expect(missing.message).toContain('oss_killer, saul');
  });
});

describe('council briefs and parsing', () => {
  it('briefs state role, focus, low score and the JSON format; config overrides and extends', () => {
    const [chucky] = resolvePersonas({ chucky: { extra: 'Always ask about the rollback.' }, saul: { name: 'Saul G.' } });
    const b = brief(chucky as (typeof PERSONAS)[number], { title: 'Rewrite auth', description: 'OAuth everywhere', points: 8 });
    expect(b).toContain("You are Chucky, devil's advocate");
    expect(b).toContain('scope creep');
    expect(b).toContain('A low score');
    expect(b).toContain('"persona": "chucky"');
    expect(b).toContain('Always ask about the rollback.');
    expect(b).toContain('Title: Rewrite auth');
    expect(resolvePersonas({ saul: { name: 'Saul G.' } })[3]?.name).toBe('Saul G.');
  });

  it('reads JSON from fenced or chatty answers and refuses malformed ones', () => {
    const ok = parseReviewText('Sure!\n```json\n{"score": 7, "rationale": "fine", "concerns": ["x"], "adjustments": []}\n```', 'archi');
    expect(ok).toEqual({ review: { persona: 'archi', score: 7, rationale: 'fine', concerns: ['x'], adjustments: [] } });
    expect('problem' in parseReviewText('I would give it a seven.', 'archi')).toBe(true);
    expect('problem' in parseReviewText('{"score": 7, "rationale": ', 'archi')).toBe(true);
    expect(parseReviewText('{"persona":"saul","score":7,"rationale":"x"}', 'archi')).toMatchObject({ problem: { field: 'persona' } });
    expect(parseReviewText('{"score":12,"rationale":"x"}', 'archi')).toMatchObject({ problem: { field: 'score' } });
  });
});

describe('council review limits', () => {
  it('bounds list sizes and text lengths, naming the entry', () => {
    const long = { ...review('archi', 8), adjustments: ['ok', 'x'.repeat(1001)] };
    expect(inputError(() => validateReviews([review('chucky', 8), review('oss_killer', 8), long, review('saul', 8)])).field).toBe('reviews[2].adjustments[1]');
  });
});

describe('council config', () => {
  it('defaults without a council section and names a bad key or threshold pair', async () => {
    const { parseConfig } = await import('../../src/core/config.js');
    expect(parseConfig({}).council).toMatchObject({ go_threshold: 8, adjust_threshold: 6, gate_points: 5, sampling: true, post_to_linear: true, personas: {} });
    expect(() => parseConfig({ council: { go_threshold: 6, adjust_threshold: 7 } })).toThrow(/council\.adjust_threshold: adjust_threshold must not exceed go_threshold/);
    expect(() => parseConfig({ council: { personas: { yoda: {} } } })).toThrow(/council\.personas: unknown field "yoda"/);
  });
});
