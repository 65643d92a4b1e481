/**
 * Path globs as regular expressions, for the Ship/Show/Ask rules and anything else that
 * matches repository paths. Supported: `**` (any number of directories), `*` (anything but
 * `/`), `?` (one character but `/`), `{a,b}` (alternatives, nestable), `[abc]`/`[!abc]`
 * (one character of a set). A glob without `/` matches the file name at any depth, like
 * .gitignore: `*.md` matches `docs/a.md`; a leading `/` or `./` anchors it at the root instead.
 * Paths are repository-relative with `/` separators. The one glob engine: the change rules and
 * the DoD's component paths both match with it.
 */
export class GlobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlobError';
  }
}

const SPECIAL = /[.+^$()|\\]/;

/**
 * The regular-expression source for one glob, anchors included; throws GlobError when malformed.
 * A leading `**\/` becomes `(?:^|/)` and a trailing `/**` an open end: the same matches, but
 * the engine finds them in one scan instead of backtracking over every directory split.
 */
export function globSource(glob: string): string {
  if (glob.length === 0) throw new GlobError('empty glob');
  let anywhere = !glob.includes('/');
  if (glob.startsWith('./')) glob = glob.slice(2);
  else if (glob.startsWith('/')) glob = glob.slice(1);
  while (glob.startsWith('**/')) {
    anywhere = true;
    glob = glob.slice(3);
  }
  let openEnd = false;
  if (glob.endsWith('/**') && glob.length > 3) {
    openEnd = true;
    glob = glob.slice(0, -2);
  }
  if (glob === '**') return '';
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
  return `${anywhere ? '(?:^|/)' : '^'}${out}${openEnd ? '' : '$'}`;
}

/** One glob as a RegExp on a whole repository-relative path. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(globSource(glob));
}

/** Several globs as one RegExp that matches when any of them does (one test per path). */
export function globsToRegExp(globs: readonly string[]): RegExp {
  return new RegExp(globs.map((g) => `(?:${globSource(g)})`).join('|'));
}

export interface PathMatcher {
  /** Whether the path matches; `name` is its last segment when the caller has it already. */
  test(path: string, name?: string): boolean;
}

/**
 * Several globs as one matcher, built for many paths: globs without `/` are tested against the
 * file name only (no scan over the directories), the others against the whole path.
 */
export function compileGlobs(globs: readonly string[]): PathMatcher {
  const named = globs.filter((g) => !g.includes('/'));
  const pathed = globs.filter((g) => g.includes('/'));
  const nameRe = named.length ? globsToRegExp(named.map((g) => `/${g}`)) : null;
  const pathRe = pathed.length ? globsToRegExp(pathed) : null;
  return {
    test: (p, name = p.slice(p.lastIndexOf('/') + 1)) => (nameRe !== null && nameRe.test(name)) || (pathRe !== null && pathRe.test(p)),
  };
}
