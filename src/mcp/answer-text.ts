/**
 * The text beside an answer's structuredContent. Many clients show the model only this text, so
 * it carries what the next call needs — a claim's token, ids, the reason of a refusal — in one
 * or two short lines after the message. Pure: no I/O.
 */
import type { z } from 'zod';
import type { ClaimResultSchema } from '../../schemas/phases.js';

type ClaimResult = z.output<typeof ClaimResultSchema>;

/** `reason: stale_token, owner: t4821`: the named fields of an answer that are set, in order. */
export function fields(answer: object, keys: readonly string[]): string {
  const o = answer as Record<string, unknown>;
  return keys
    .filter((k) => o[k] !== undefined && o[k] !== null)
    .map((k) => `${k}: ${typeof o[k] === 'string' ? o[k] : JSON.stringify(o[k])}`)
    .join(', ');
}

/** The message, then a line of the fields that are set (none: the message alone). */
export function withFields(message: string, answer: object, keys: readonly string[]): string {
  const line = fields(answer, keys);
  return line ? `${message}\n${line}` : message;
}

/**
 * An answer with a yes/no `flag` (claimed, ok, saved, released, completed, synced): on yes the
 * message, which names what was done; on no the message and `flag: false, reason: …, owner: …`.
 */
export function outcomeText(answer: { message: string }, flag: string, more: readonly string[] = []): string {
  return (answer as Record<string, unknown>)[flag] ? answer.message : withFields(answer.message, answer, [flag, 'reason', 'owner', ...more]);
}

/** The arguments every later call on a claim takes, as JSON to copy: the phase id keeps its type. */
export function claimArgs(mega: string, phase: string | number, token: string): string {
  return `use ${JSON.stringify({ mega, phase, token })} in heartbeat, checkpoint, complete_phase`;
}

/** A claim answer (claim_phase, complete_phase's next): the claim's arguments, or why there is none. */
export function claimText(r: ClaimResult): string {
  if (r.claimed && r.phase && r.token) return `${r.message}\n${claimArgs(r.phase.mega, r.phase.id, r.token)}`;
  return outcomeText(r, 'claimed', ['remaining']);
}
