/** Phase ids are integers or strings, as in the claim files agents already write. */
export type PhaseId = number | string;

/** The canonical text form of a phase id: `1` and `"1"` are the same phase. */
export function phaseKey(id: PhaseId): string {
  return typeof id === 'number' ? String(id) : id.trim();
}

/** Restores the id's original type from its stored form. */
export function phaseIdFromStore(key: string, kind: string): PhaseId {
  return kind === 'int' ? Number(key) : key;
}

export function phaseIdKind(id: PhaseId): 'int' | 'str' {
  return typeof id === 'number' ? 'int' : 'str';
}

/** `t4821`-style instance ids: short enough for humans, widened when the short space is crowded. */
export function instanceId(random: () => number, digits = 4): string {
  const min = 10 ** (digits - 1);
  const span = 9 * min;
  return `t${min + Math.floor(random() * span)}`;
}
