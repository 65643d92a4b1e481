/**
 * Path globs as regular expressions, for the Ship/Show/Ask rules and anything else that
 * matches repository paths. Supported: `**` (any number of directories), `*` (anything but
 * `/`), `?` (one character but `/`), `{a,b}` (alternatives, nestable), `[abc]`/`[!abc]`
 * (one character of a set). A glob without `/` matches the file name at any depth, like
 * .gitignore: `*.md` matches `docs/a.md`. Paths are repository-relative with `/` separators.
 */
export class GlobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlobError';
  }
}

const SPECIAL = /[.+^$()|\\]/;

/** The regular-expression source (unanchored) for one glob; throws GlobError when malformed. */
export function globSource(glob: string): string {
  if (glob.length === 0) throw new GlobError('empty glob');
  if (glob.startsWith('/')) glob = glob.slice(1);
  const anywhere = !glob.includes('/');
  let out = '';
  let depth = 0; // open {…} groups
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/';
        const next = glob[i + 2];
        if (!atStart || (next !== undefined && next !== '/')) throw new GlobError(`"**" must be a whole path segment (at ${i + 1})`);
        if (next === '/') {
          out += '(?:[^/]*/)*';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '{') {
      depth++;
      out += '(?:';
    } else if (c === '}') {
      if (depth === 0) throw new GlobError(`unmatched "}" at ${i + 1}`);
      depth--;
      out += ')';
    } else if (c === ',' && depth > 0) out += '|';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) throw new GlobError(`unclosed "[" at ${i + 1}`);
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      if (body.length === 0) throw new GlobError(`empty character set at ${i + 1}`);
      out += `[${negate ? '^/' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else if (SPECIAL.test(c) || c === ']') out += `\\${c}`;
    else out += c;
  }
  if (depth > 0) throw new GlobError('unclosed "{"');
  return anywhere ? `(?:[^/]*/)*${out}` : out;
}

/** One glob as an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${globSource(glob)}$`);
}

/** Several globs as one anchored RegExp that matches when any of them does (one test per path). */
export function globsToRegExp(globs: readonly string[]): RegExp {
  return new RegExp(`^(?:${globs.map((g) => globSource(g)).join('|')})$`);
}
