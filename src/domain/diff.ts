/**
 * Parsers for what git prints about a change, pure (text in, files out):
 * - `parseUnifiedDiff`: a unified diff (`git diff` or `diff -u` output) into changed files;
 * - `parseGitDiff`: the output of one `git diff -z --raw --numstat -p -U0` run, where the
 *   NUL-separated raw and numstat records give status, modes, paths and counts exactly, and the
 *   patch after them gives the added and removed lines.
 */
import { type ChangedFile, type FileStatus } from './risk.js';

export class DiffParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(line > 0 ? `line ${line}: ${message}` : message);
    this.name = 'DiffParseError';
  }
}

const SYMLINK_MODE = '120000';

interface Section {
  oldPath: string | null;
  newPath: string | null;
  status: FileStatus;
  oldMode: string | null;
  newMode: string | null;
  binary: boolean;
  additions: number;
  deletions: number;
  added: string[];
  removed: string[];
}

/** Undoes git's C-style quoting of unusual path names ("a/tab\there", octal bytes for UTF-8). */
export function unquotePath(s: string): string {
  if (!s.startsWith('"')) return s;
  const bytes: number[] = [];
  const esc: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };
  for (let i = 1; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '"') break;
    if (c !== '\\') {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
      continue;
    }
    const n = s[++i] as string;
    if (/[0-7]/.test(n)) {
      bytes.push(parseInt(s.slice(i, i + 3), 8));
      i += 2;
    } else bytes.push(esc[n] ?? n.charCodeAt(0));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A `---`/`+++` name: unquoted, without the trailing tab (and timestamp) or the a/ b/ prefix; null for /dev/null. */
function headerPath(raw: string, git: boolean): string | null {
  let p = raw.startsWith('"') ? unquotePath(raw) : raw.split('\t')[0] as string;
  if (!raw.startsWith('"')) p = p.replace(/\s+$/, '');
  if (p === '/dev/null') return null;
  if (git) return p.replace(/^[abciwo12]\//, '');
  const slash = p.indexOf('/');
  return slash > 0 ? p.slice(slash + 1) : p;
}

/** Paths from `diff --git a/X b/Y` when nothing else names them (mode-only or binary changes). */
function gitHeaderPaths(rest: string): [string, string] | null {
  if (rest.startsWith('"')) {
    const end = rest.indexOf('" ', 1);
    if (end < 0) return null;
    const a = unquotePath(rest.slice(0, end + 1));
    const b = unquotePath(rest.slice(end + 2));
    return [a.replace(/^a\//, ''), b.replace(/^b\//, '')];
  }
  // "a/P b/P": same name on both sides, so split in the middle.
  const half = (rest.length - 1) / 2;
  if (Number.isInteger(half) && rest[half] === ' ') {
    const a = rest.slice(0, half);
    const b = rest.slice(half + 1);
    if (a.slice(2) === b.slice(2)) return [a.replace(/^a\//, ''), b.replace(/^b\//, '')];
  }
  const m = / b\//.exec(rest);
  return m ? [rest.slice(0, m.index).replace(/^a\//, ''), rest.slice(m.index + 3)] : null;
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/**
 * Splits patch text into file sections with their added and removed lines. `firstLine` is the
 * line number of the text's first line within the caller's input (for error messages).
 */
function parseSections(text: string, firstLine = 1): Section[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: Section[] = [];
  let s: Section | null = null;
  let git = false;
  let oldLeft = 0;
  let newLeft = 0;
  const open = (isGit: boolean): Section => {
    git = isGit;
    s = { oldPath: null, newPath: null, status: 'modified', oldMode: null, newMode: null, binary: false, additions: 0, deletions: 0, added: [], removed: [] };
    out.push(s);
    return s;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const no = firstLine + i;
    if (oldLeft > 0 || newLeft > 0) {
      const c = line[0];
      const cur = s as unknown as Section;
      if (c === '+' && newLeft > 0) {
        cur.added.push(line.slice(1));
        cur.additions++;
        newLeft--;
      } else if (c === '-' && oldLeft > 0) {
        cur.removed.push(line.slice(1));
        cur.deletions++;
        oldLeft--;
      } else if ((c === ' ' || line === '') && oldLeft > 0 && newLeft > 0) {
        oldLeft--;
        newLeft--;
      } else if (c === '\\') {
        /* "\ No newline at end of file" */
      } else throw new DiffParseError(no, `hunk ends early: expected ${oldLeft} more old and ${newLeft} more new lines, found ${JSON.stringify(line.slice(0, 40))}`);
      continue;
    }
    if (line.startsWith('diff --git ')) {
      const cur = open(true);
      const p = gitHeaderPaths(line.slice(11));
      if (p) [cur.oldPath, cur.newPath] = p;
      continue;
    }
    if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      const cur: Section = s !== null && git && (s as Section).added.length + (s as Section).removed.length === 0 ? (s as Section) : open(false);
      const a = headerPath(line.slice(4), git);
      const b = headerPath((lines[i + 1] as string).slice(4), git);
      cur.oldPath = a ?? cur.oldPath;
      cur.newPath = b ?? cur.newPath;
      if (a === null) cur.status = 'added';
      if (b === null) cur.status = 'deleted';
      i++;
      continue;
    }
    if (line.startsWith('@@')) {
      const m = HUNK.exec(line);
      if (!m) throw new DiffParseError(no, `malformed hunk header ${JSON.stringify(line.slice(0, 60))}`);
      if (!s) throw new DiffParseError(no, 'hunk before any file header (---/+++ or diff --git)');
      oldLeft = m[2] === undefined ? 1 : Number(m[2]);
      newLeft = m[4] === undefined ? 1 : Number(m[4]);
      continue;
    }
    const cur = s as Section | null;
    if (cur && git) {
      if (line.startsWith('new file mode ')) {
        cur.status = 'added';
        cur.newMode = line.slice(14);
      } else if (line.startsWith('deleted file mode ')) {
        cur.status = 'deleted';
        cur.oldMode = line.slice(18);
      } else if (line.startsWith('old mode ')) cur.oldMode = line.slice(9);
      else if (line.startsWith('new mode ')) cur.newMode = line.slice(9);
      else if (line.startsWith('rename from ')) {
        cur.status = 'renamed';
        cur.oldPath = unquotePath(line.slice(12));
      } else if (line.startsWith('rename to ')) cur.newPath = unquotePath(line.slice(10));
      else if (line.startsWith('copy from ')) {
        cur.status = 'copied';
        cur.oldPath = unquotePath(line.slice(10));
      } else if (line.startsWith('copy to ')) cur.newPath = unquotePath(line.slice(8));
      else if (line.startsWith('Binary files ') || line === 'GIT binary patch') cur.binary = true;
      else if (line.startsWith('index ')) {
        const mode = line.split(' ')[2];
        if (mode) cur.oldMode ??= mode;
        if (mode) cur.newMode ??= mode;
      }
    }
    // Anything else between sections (commit messages, "similarity index", "literal …") is skipped.
  }
  if (oldLeft > 0 || newLeft > 0) throw new DiffParseError(firstLine + lines.length - 1, `diff ends inside a hunk (${oldLeft} old and ${newLeft} new lines missing)`);
  return out;
}

/** Parses a unified diff into changed files; throws DiffParseError naming the line when malformed. */
export function parseUnifiedDiff(text: string): ChangedFile[] {
  const sections = parseSections(text.replace(/\r\n/g, '\n'));
  if (sections.length === 0) throw new DiffParseError(0, 'no file sections found (expected "diff --git" or "---"/"+++" headers)');
  const byPath = new Map<string, ChangedFile>();
  for (const [k, s] of sections.entries()) {
    const path = s.newPath ?? s.oldPath;
    if (path === null) throw new DiffParseError(0, `file section ${k + 1} names no file`);
    const symlink = s.newMode === SYMLINK_MODE && s.status !== 'deleted';
    const wasSymlink = s.oldMode === SYMLINK_MODE;
    const prev = byPath.get(path);
    if (prev) {
      // A type change (file <-> symlink) appears as a deletion and an addition of one path.
      prev.status = 'type_changed';
      prev.additions += s.additions;
      prev.deletions += s.deletions;
      append(prev.added, s.added);
      append(prev.removed, s.removed);
      prev.symlink ||= symlink;
      prev.was_symlink ||= wasSymlink;
      continue;
    }
    const status: FileStatus = s.status === 'modified' && s.oldMode && s.newMode && (s.oldMode === SYMLINK_MODE) !== (s.newMode === SYMLINK_MODE) ? 'type_changed' : s.status;
    const f: ChangedFile = { path, status, additions: s.additions, deletions: s.deletions, binary: s.binary, symlink, added: s.added, removed: s.removed };
    if (wasSymlink) f.was_symlink = true;
    if ((status === 'renamed' || status === 'copied') && s.oldPath) f.old_path = s.oldPath;
    byPath.set(path, f);
  }
  return [...byPath.values()];
}

const STATUS_LETTER: Record<string, FileStatus> = { A: 'added', M: 'modified', D: 'deleted', R: 'renamed', C: 'copied', T: 'type_changed', U: 'modified', X: 'modified' };

/**
 * Parses `git diff -z --raw --numstat -p` output. Records are NUL-separated; paths need no
 * unquoting there. The patch is matched to records by path.
 */
export function parseGitDiff(out: string): ChangedFile[] {
  const files: ChangedFile[] = [];
  let pos = 0;
  const next = (): string => {
    const end = out.indexOf('\0', pos);
    if (end < 0) throw new DiffParseError(0, 'truncated git diff output');
    const tok = out.slice(pos, end);
    pos = end + 1;
    return tok;
  };
  while (out.charCodeAt(pos) === 58 /* ':' */) {
    const head = next().split(' ');
    const letter = (head[4] ?? '')[0] ?? 'M';
    const status = STATUS_LETTER[letter] ?? 'modified';
    const first = next();
    const f: ChangedFile = { path: first, status, additions: 0, deletions: 0, binary: false, symlink: head[1] === SYMLINK_MODE, added: [], removed: [] };
    if (head[0] === `:${SYMLINK_MODE}`) f.was_symlink = true;
    if (status === 'renamed' || status === 'copied') {
      f.old_path = first;
      f.path = next();
    }
    if (status === 'deleted') f.symlink = false;
    files.push(f);
  }
  for (const f of files) {
    const rec = next();
    const t1 = rec.indexOf('\t');
    const t2 = rec.indexOf('\t', t1 + 1);
    const a = rec.slice(0, t1);
    const d = rec.slice(t1 + 1, t2);
    if (t2 === rec.length - 1) {
      next();
      next();
    }
    if (a === '-') f.binary = true;
    else {
      f.additions = Number(a);
      f.deletions = Number(d);
    }
  }
  if (out.charCodeAt(pos) === 0) pos++;
  if (pos >= out.length) return files;
  const byPath = new Map(files.map((f) => [f.path, f]));
  const byOld = new Map(files.filter((f) => f.status === 'deleted').map((f) => [f.path, f]));
  for (const s of parseSections(out.slice(pos))) {
    const f = (s.newPath !== null ? byPath.get(s.newPath) : undefined) ?? (s.oldPath !== null ? byOld.get(s.oldPath) ?? byPath.get(s.oldPath) : undefined);
    if (!f) continue;
    append(f.added, s.added);
    append(f.removed, s.removed);
  }
  return files;
}

/** Appends without spreading (a generated file can have more lines than a call takes arguments). */
function append(to: string[] | undefined, from: readonly string[]): void {
  if (to) for (const l of from) to.push(l);
}
