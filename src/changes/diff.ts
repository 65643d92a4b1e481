/**
 * The parser for unified diffs, pure (text in, files out): `git diff -U0` output streamed from
 * git, or a diff an agent passes in. Git's extended headers give status, modes and exact paths
 * (quoted names unquoted); hunks give the counts and the added and removed lines.
 */
import { type ChangedFile, type FileStatus } from './rules.js';

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
/** Lines kept per file and side for the content rules; counts stay exact beyond it (a generated file must not fill memory). */
export const MAX_KEPT_LINES = 20_000;

interface Section {
  /** The `diff --git` line, for the paths when nothing else names them. */
  header: string | null;
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
  let p: string;
  if (raw.charCodeAt(0) === 34 /* " */) p = unquotePath(raw);
  else {
    const tab = raw.indexOf('\t');
    p = tab < 0 ? raw : raw.slice(0, tab);
  }
  if (p === '/dev/null') return null;
  if (git) return p.length > 2 && p.charCodeAt(1) === 47 /* / */ && 'abciwo12'.includes(p[0] as string) ? p.slice(2) : p;
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

const newSection = (): Section => ({ header: null, oldPath: null, newPath: null, status: 'modified', oldMode: null, newMode: null, binary: false, additions: 0, deletions: 0, added: [], removed: [] });

/**
 * Reads patch text one line at a time and hands each file section to `onSection` once it is
 * complete, so a large patch is never held twice. Throws DiffParseError naming the line.
 */
export class PatchParser {
  private s: Section | null = null;
  private git = false;
  private oldLeft = 0;
  private newLeft = 0;
  private pendingMinus: string | null = null;
  private no: number;

  constructor(
    private readonly onSection: (s: Section) => void,
    firstLine = 1,
  ) {
    this.no = firstLine - 1;
  }

  /** `text.slice(start, end)` as one line, without cutting it out first when it is a hunk line. */
  lineAt(text: string, start: number, end: number): void {
    if (this.oldLeft > 0 || this.newLeft > 0) {
      const c = text.charCodeAt(start);
      if (c === 43 /* + */ && this.newLeft > 0) {
        this.no++;
        const cur = this.s as Section;
        if (cur.additions++ < MAX_KEPT_LINES) cur.added.push(text.slice(start + 1, end));
        this.newLeft--;
        return;
      }
      if (c === 45 /* - */ && this.oldLeft > 0) {
        this.no++;
        const cur = this.s as Section;
        if (cur.deletions++ < MAX_KEPT_LINES) cur.removed.push(text.slice(start + 1, end));
        this.oldLeft--;
        return;
      }
    }
    this.line(text.slice(start, end));
  }

  line(line: string): void {
    this.no++;
    if (this.oldLeft > 0 || this.newLeft > 0) {
      const c = line.charCodeAt(0);
      const cur = this.s as Section;
      if (c === 43 /* + */ && this.newLeft > 0) {
        if (cur.additions++ < MAX_KEPT_LINES) cur.added.push(line.slice(1));
        this.newLeft--;
      } else if (c === 45 /* - */ && this.oldLeft > 0) {
        if (cur.deletions++ < MAX_KEPT_LINES) cur.removed.push(line.slice(1));
        this.oldLeft--;
      } else if ((c === 32 || line === '') && this.oldLeft > 0 && this.newLeft > 0) {
        this.oldLeft--;
        this.newLeft--;
      } else if (c !== 92 /* \ No newline at end of file */) {
        throw new DiffParseError(this.no, `hunk ends early: expected ${this.oldLeft} more old and ${this.newLeft} more new lines, found ${JSON.stringify(line.slice(0, 40))}`);
      }
      return;
    }
    if (this.pendingMinus !== null) {
      const minus = this.pendingMinus;
      this.pendingMinus = null;
      if (line.startsWith('+++ ')) {
        this.fileHeader(minus, line);
        return;
      }
    }
    if (line.startsWith('diff --git ')) {
      this.open(true).header = line; // its paths are read only if no ---/+++ or rename lines name them
      return;
    }
    if (line.startsWith('--- ')) {
      this.pendingMinus = line;
      return;
    }
    if (line.startsWith('@@')) {
      const m = HUNK.exec(line);
      if (!m) throw new DiffParseError(this.no, `malformed hunk header ${JSON.stringify(line.slice(0, 60))}`);
      if (!this.s) throw new DiffParseError(this.no, 'hunk before any file header (---/+++ or diff --git)');
      this.oldLeft = m[2] === undefined ? 1 : Number(m[2]);
      this.newLeft = m[4] === undefined ? 1 : Number(m[4]);
      return;
    }
    const cur = this.s;
    if (!cur || !this.git) return; // text between sections (commit messages, "similarity index", …)
    if (line.startsWith('index ')) {
      const sp = line.indexOf(' ', 6);
      if (sp > 0) {
        const mode = line.slice(sp + 1);
        cur.oldMode ??= mode;
        cur.newMode ??= mode;
      }
    } else if (line.startsWith('new file mode ')) {
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
  }

  private close(s: Section): void {
    if (s.header !== null && (s.oldPath === null || s.newPath === null)) {
      const p = gitHeaderPaths(s.header.slice(11));
      if (p) {
        s.oldPath ??= p[0];
        s.newPath ??= p[1];
      }
    }
    this.onSection(s);
  }

  private fileHeader(minus: string, plus: string): void {
    const s = this.s;
    const cur = s !== null && this.git && s.added.length + s.removed.length === 0 ? s : this.open(false);
    const a = headerPath(minus.slice(4), this.git);
    const b = headerPath(plus.slice(4), this.git);
    cur.oldPath = a ?? cur.oldPath;
    cur.newPath = b ?? cur.newPath;
    if (a === null) cur.status = 'added';
    if (b === null) cur.status = 'deleted';
  }

  private open(git: boolean): Section {
    if (this.s) this.close(this.s);
    this.git = git;
    this.s = newSection();
    return this.s;
  }

  /** Ends the input: hands over the last section; throws when it stops inside a hunk. */
  finish(): void {
    if (this.oldLeft > 0 || this.newLeft > 0) throw new DiffParseError(this.no, `diff ends inside a hunk (${this.oldLeft} old and ${this.newLeft} new lines missing)`);
    if (this.s) this.close(this.s);
    this.s = null;
  }
}

/**
 * A unified diff (`git diff` or `diff -u` output) read as it streams in. Each file is handed to
 * `onFile` once its section is complete; a type change (file <-> symlink), which git prints as
 * a deletion and an addition of one path in a row, is merged into one file first.
 */
export class DiffStream {
  private readonly files: ChangedFile[] = [];
  private readonly byPath = new Map<string, ChangedFile>();
  private pending: ChangedFile | null = null;
  private rest = '';
  private readonly patch = new PatchParser((s) => this.section(s));

  constructor(private readonly onFile?: (f: ChangedFile) => void) {}

  push(chunk: string): void {
    const text = this.rest + chunk;
    let pos = 0;
    for (let nl = text.indexOf('\n', pos); nl >= 0; nl = text.indexOf('\n', pos)) {
      this.patch.lineAt(text, pos, nl);
      pos = nl + 1;
    }
    this.rest = text.slice(pos);
  }

  private section(s: Section): void {
    const path = s.newPath ?? s.oldPath;
    if (path === null) throw new DiffParseError(0, `file section ${this.files.length + 1} names no file`);
    const symlink = s.newMode === SYMLINK_MODE && s.status !== 'deleted';
    const wasSymlink = s.oldMode === SYMLINK_MODE;
    const prev = this.byPath.get(path);
    if (prev) {
      prev.status = 'type_changed';
      prev.additions += s.additions;
      prev.deletions += s.deletions;
      append(prev.added, s.added);
      append(prev.removed, s.removed);
      prev.symlink ||= symlink;
      if (wasSymlink) prev.was_symlink = true;
      return;
    }
    const status: FileStatus = s.status === 'modified' && s.oldMode && s.newMode && (s.oldMode === SYMLINK_MODE) !== (s.newMode === SYMLINK_MODE) ? 'type_changed' : s.status;
    const f: ChangedFile = { path, status, additions: s.additions, deletions: s.deletions, binary: s.binary, symlink, added: s.added, removed: s.removed };
    if (wasSymlink) f.was_symlink = true;
    if ((status === 'renamed' || status === 'copied') && s.oldPath) f.old_path = s.oldPath;
    this.byPath.set(path, f);
    this.files.push(f);
    if (this.pending) this.onFile?.(this.pending);
    this.pending = f;
  }

  /** Ends the input; returns every file. Throws DiffParseError when it stops inside a hunk. */
  end(): ChangedFile[] {
    if (this.rest) {
      this.patch.line(this.rest);
      this.rest = '';
    }
    this.patch.finish();
    if (this.pending) this.onFile?.(this.pending);
    this.pending = null;
    return this.files;
  }
}

/** Parses a unified diff into changed files; throws DiffParseError naming the line when malformed. */
export function parseUnifiedDiff(text: string): ChangedFile[] {
  const d = new DiffStream();
  d.push(text.replace(/\r\n/g, '\n'));
  const files = d.end();
  if (files.length === 0) throw new DiffParseError(0, 'no file sections found (expected "diff --git" or "---"/"+++" headers)');
  return files;
}

/** Appends without spreading (a generated file can have more lines than a call takes arguments). */
function append(to: string[] | undefined, from: readonly string[]): void {
  if (to) for (const l of from) to.push(l);
}
