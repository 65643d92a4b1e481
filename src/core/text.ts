/** `s` cut to at most `max` characters, the last one an ellipsis when anything was cut. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** `s` as one Markdown table cell: pipes escaped, newlines folded to spaces. */
export function tableCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
