/**
 * Ship / Show / Ask: the rule engine. Pure: it sees changed files (paths, status, line counts,
 * added and removed lines when known) and the rules, and says which rules fire on which files.
 * The highest level any rule reaches wins. Rules are compiled once (one RegExp per rule), so a
 * classification costs O(files × rules) plus one pass over the changed lines.
 */
import { GlobError, compileGlobs, globSource, type PathMatcher } from './glob.js';

export const LEVELS = ['ship', 'show', 'ask'] as const;
export type Level = (typeof LEVELS)[number];
export const ACTIONS = { ship: 'merge_now', show: 'merge_then_review', ask: 'wait_for_human' } as const;
export type Action = (typeof ACTIONS)[Level];
export const INTENTS = ['feature', 'fix', 'refactor', 'test', 'docs', 'config', 'deps', 'style'] as const;
export type Intent = (typeof INTENTS)[number];
export const FILE_STATUSES = ['added', 'modified', 'deleted', 'renamed', 'copied', 'type_changed'] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

const RANK: Record<Level, number> = { ship: 0, show: 1, ask: 2 };
export const maxLevel = (a: Level, b: Level): Level => (RANK[a] >= RANK[b] ? a : b);

export interface ChangedFile {
  path: string;
  /** The path before a rename or copy. */
  old_path?: string | undefined;
  status: FileStatus;
  additions: number;
  deletions: number;
  binary: boolean;
  /** The new side is a symlink (mode 120000). */
  symlink: boolean;
  /** The old side was a symlink. */
  was_symlink?: boolean | undefined;
  /** Added and removed lines, when known (a git range or a diff; not a bare file list). */
  added?: string[] | undefined;
  removed?: string[] | undefined;
}

/** A rule as configured: path globs and/or a regular expression on added (or removed) lines. */
export interface RuleSpec {
  id: string;
  level?: Level | undefined;
  description?: string | undefined;
  paths?: string[] | undefined;
  exclude?: string[] | undefined;
  /** Fires on a matching added line (lines also removed elsewhere in the change, i.e. moved, do not count). */
  pattern?: string | undefined;
  /** Fires on a matching removed line that is not re-added elsewhere. */
  removed_pattern?: string | undefined;
  ignore_case?: boolean | undefined;
}

export interface RulesConfig {
  max_lines?: number | undefined;
  rules?: RuleSpec[] | undefined;
  remove?: string[] | undefined;
}

export interface Reason {
  level: Level;
  rule: string;
  files: string[];
  message: string;
}

export interface Classification {
  level: Level;
  action: Action;
  reasons: Reason[];
  stats: { files: number; additions: number; deletions: number; renames: number };
}

// ------------------------------------------------------------------ default rules

const DOCS = ['*.{md,mdx,markdown,rst,adoc,txt}', 'docs/**', 'doc/**', '{LICENSE,LICENCE,NOTICE,AUTHORS,CONTRIBUTORS,CHANGELOG,CODEOWNERS}*'];
const TESTS = ['test/**', 'tests/**', '__tests__/**', '**/__tests__/**', 'spec/**', '**/test/**', '**/tests/**', '*.{test,spec}.*', '*_test.{go,py,rb}', 'test_*.py', '**/fixtures/**', '**/__snapshots__/**'];
const SOURCE = ['*.{ts,tsx,mts,cts,js,jsx,mjs,cjs,py,go,rs,java,kt,kts,rb,php,cs,c,h,cc,cpp,hpp,swift,scala,sh,vue,svelte}'];
const NOT_DOCS_OR_TESTS = [...DOCS, ...TESTS];

/** Rules that are data: globs and patterns. Configuration can override any field or remove them by id. */
export const DEFAULT_RULES: readonly RuleSpec[] = [
  { id: 'docs', level: 'ship', description: 'documentation and prose', paths: DOCS, exclude: ['requirements*.txt', 'CMakeLists.txt'] },
  { id: 'config', level: 'ship', description: 'editor, formatter and linter settings', paths: ['.editorconfig', '.gitignore', '.gitattributes', '.prettierrc*', '.prettierignore', '.eslintrc*', '.eslintignore', 'eslint.config.*', '.markdownlint*', '.vscode/**', '.idea/**', 'factory.config.json'] },
  { id: 'tests', level: 'show', description: 'tests and fixtures', paths: TESTS },
  { id: 'migrations', level: 'ask', description: 'database migrations and SQL', paths: ['**/migrations/**', '**/migrate/**', '*migration*.*', '*.sql', '**/schema.prisma', '**/db/schema.*'], exclude: NOT_DOCS_OR_TESTS },
  { id: 'auth', level: 'ask', description: 'authentication, sessions and permissions', paths: ['**/auth/**', '*{auth,login,logout,password,oauth,session,permission,rbac,acl}*'], exclude: NOT_DOCS_OR_TESTS },
  { id: 'security', level: 'ask', description: 'security, crypto, secrets and certificates', paths: ['**/security/**', '**/crypto/**', '*{security,crypto,secret,credential,token}*', '*.{pem,key,crt,cer,p12,pfx,jks}', '.npmrc', '.env*'], exclude: NOT_DOCS_OR_TESTS },
  { id: 'ci', level: 'ask', description: 'CI workflows and pipelines', paths: ['.github/workflows/**', '.github/actions/**', '.gitlab-ci.yml', '.circleci/**', 'Jenkinsfile', 'azure-pipelines.yml', '.buildkite/**', '.travis.yml', 'bitbucket-pipelines.yml', '.husky/**'] },
  { id: 'infrastructure', level: 'ask', description: 'containers, deployment and infrastructure as code', paths: ['Dockerfile*', '*.dockerfile', 'docker-compose*.{yml,yaml}', 'compose.{yml,yaml}', '*.{tf,tfvars,hcl}', '**/{infra,infrastructure,terraform,deploy,deployment,k8s,kubernetes,helm,ansible}/**', 'Procfile', 'fly.toml', 'vercel.json', 'netlify.toml', 'serverless.{yml,yaml}'] },
  { id: 'exported_api', level: 'ask', description: 'new exported API in source', paths: SOURCE, exclude: TESTS, pattern: '^\\s*export\\s+(?:default\\s+)?(?:async\\s+)?(?:function|class|const|let|var|interface|type|enum|abstract|namespace|\\{|\\*)|^\\s*(?:module\\.)?exports(?:\\.\\w+)?\\s*=|^pub\\s+(?:async\\s+)?(?:fn|struct|enum|trait|mod|type|const|static)\\b|^func\\s+(?:\\([^)]*\\)\\s*)?[A-Z]|^(?:async\\s+)?def\\s+[a-zA-Z]|^\\s*public\\s+(?:static\\s+)?(?:final\\s+)?(?:class|interface|enum|record|[\\w<>\\[\\]]+\\s+\\w+\\s*\\()|\\b(?:app|router|server)\\.(?:get|post|put|patch|delete|route|use)\\s*\\(|@(?:app|router)\\.(?:get|post|put|patch|delete|route)\\b|@(?:Get|Post|Put|Patch|Delete|RequestMapping)\\b' },
  { id: 'removed_api', level: 'ask', description: 'exported API removed from source', paths: SOURCE, exclude: TESTS, removed_pattern: '^\\s*export\\s+(?:default\\s+)?(?:async\\s+)?(?:function|class|const|let|var|interface|type|enum)\\s|^pub\\s+(?:fn|struct|enum|trait)\\b|^func\\s+(?:\\([^)]*\\)\\s*)?[A-Z]' },
  { id: 'raw_sql', level: 'ask', description: 'raw SQL in source', paths: SOURCE, exclude: TESTS, pattern: '\\b(?:SELECT\\s+[\\w*,.\\s"`]+\\s+FROM|INSERT\\s+(?:OR\\s+\\w+\\s+)?INTO|UPDATE\\s+[\\w"`.]+\\s+SET|DELETE\\s+FROM|CREATE\\s+(?:UNIQUE\\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)|ALTER\\s+TABLE|DROP\\s+(?:TABLE|INDEX|VIEW))\\b' },
  { id: 'eval', level: 'ask', description: 'dynamic code execution or shell commands', paths: SOURCE, exclude: TESTS, pattern: '(?:^|[^.\\w])eval\\s*\\(|\\bnew\\s+Function\\s*\\(|child_process|\\bexecSync\\s*\\(|\\bos\\.system\\s*\\(|\\bsubprocess\\.|\\bshell\\s*[:=]\\s*true|\\bdangerouslySetInnerHTML|\\binnerHTML\\s*=' },
  { id: 'secrets', level: 'ask', description: 'secret, token or credential handling', paths: SOURCE, exclude: TESTS, ignore_case: true, pattern: '\\b(?:password|passwd|secret|api[_-]?key|private[_-]?key|access[_-]?token|auth[_-]?token|credential|bearer)\\b|process\\.env\\.\\w*(?:TOKEN|KEY|SECRET|PASSWORD)' },
  { id: 'permissions', level: 'ask', description: 'permission, role or file-mode handling', paths: SOURCE, exclude: TESTS, pattern: '\\b(?:chmod|chown|setuid|sudo|isAdmin|is_admin|hasPermission|has_permission|authorize|grant|revoke)\\b|\\brole\\s*[=!]==?' },
];

/** Rules that are logic, not globs: their level can be changed and they can be removed, by id. */
export const LOGIC_RULES: Readonly<Record<string, { level: Level; description: string }>> = {
  dependency_bump: { level: 'ship', description: 'version bump of an existing dependency, lockfile updated' },
  lockfile: { level: 'ship', description: 'lockfile refresh without manifest change' },
  new_dependency: { level: 'ask', description: 'a dependency that was not there before' },
  removed_dependency: { level: 'show', description: 'a dependency dropped' },
  lockfile_missing: { level: 'ask', description: 'dependency change without its lockfile' },
  whitespace_only: { level: 'show', description: 'whitespace-only change' },
  rename_only: { level: 'show', description: 'rename or copy without content change' },
  binary: { level: 'show', description: 'binary file (content not inspected)' },
  symlink: { level: 'ask', description: 'symlink added, changed or removed' },
  size: { level: 'show', description: 'more changed lines than max_lines' },
  other: { level: 'show', description: 'changed files no other rule covers' },
  intent: { level: 'show', description: 'the stated intent and the diff disagree (the diff wins)' },
};

export const DEFAULT_MAX_LINES = 300;

// ------------------------------------------------------------------ compiling

/** An invalid rule, named by its place in the configuration (`rules[3].pattern`). */
export class RuleError extends Error {
  constructor(
    readonly path: (string | number)[],
    message: string,
  ) {
    super(message);
    this.name = 'RuleError';
  }
}

interface CompiledRule {
  id: string;
  level: Level;
  description: string;
  /** Index into CompiledRules.matchers (rules sharing a glob list share one matcher), or -1. */
  paths: number;
  exclude: number;
  pattern: RegExp | null;
  removed: RegExp | null;
}

export interface CompiledRules {
  pathRules: CompiledRule[];
  contentRules: CompiledRule[];
  logic: Map<string, Level>;
  maxLines: number;
  matchers: PathMatcher[];
  source: number;
  tests: number;
  /** Any content rule's pattern (a prefilter: most lines match none, and then one test per line is enough); null when it cannot be built. */
  anyAdded: RegExp | null;
  anyRemoved: RegExp | null;
}

const cache = new WeakMap<object, CompiledRules>();

/** Compiles the default rules with the configuration's additions, overrides and removals. Throws RuleError. */
export function compileRules(cfg: RulesConfig = {}): CompiledRules {
  const hit = cache.get(cfg);
  if (hit) return hit;
  const specs = new Map<string, RuleSpec & { index?: number }>(DEFAULT_RULES.map((r) => [r.id, { ...r }]));
  const logic = new Map<string, Level>(Object.entries(LOGIC_RULES).map(([id, r]) => [id, r.level]));
  for (const [i, r] of (cfg.remove ?? []).entries()) {
    if (!specs.delete(r) && !logic.delete(r)) throw new RuleError(['remove', i], `no rule with id ${JSON.stringify(r)} to remove`);
  }
  for (const [i, r] of (cfg.rules ?? []).entries()) {
    if (logic.has(r.id) || LOGIC_RULES[r.id]) {
      const extra = (['paths', 'exclude', 'pattern', 'removed_pattern'] as const).find((k) => r[k] !== undefined);
      if (extra) throw new RuleError(['rules', i, extra], `rule ${r.id} is built-in logic: only its level can be changed`);
      if (r.level) logic.set(r.id, r.level);
      continue;
    }
    const base = specs.get(r.id);
    const merged = { ...base, ...Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)), index: i } as RuleSpec & { index: number };
    if (!merged.level) throw new RuleError(['rules', i, 'level'], `new rule ${r.id} needs a level (ship, show or ask)`);
    if (!merged.paths && !merged.pattern && !merged.removed_pattern) throw new RuleError(['rules', i], `rule ${r.id} needs paths, pattern or removed_pattern`);
    specs.set(r.id, merged);
  }
  const slots = new Map<string, number>();
  const out: CompiledRules = { pathRules: [], contentRules: [], logic, maxLines: cfg.max_lines ?? DEFAULT_MAX_LINES, matchers: [], source: -1, tests: -1, anyAdded: null, anyRemoved: null };
  const globs = (list: string[], at: (string | number)[]): number => {
    const key = list.join('\n');
    const known = slots.get(key);
    if (known !== undefined) return known;
    for (const [j, g] of list.entries()) {
      try {
        globSource(g);
      } catch (e) {
        throw new RuleError([...at, j], `bad glob ${JSON.stringify(g)}: ${(e as GlobError).message}`);
      }
    }
    out.matchers.push(compileGlobs(list));
    slots.set(key, out.matchers.length - 1);
    return out.matchers.length - 1;
  };
  out.source = globs(SOURCE, ['source']);
  out.tests = globs(TESTS, ['tests']);
  for (const s of specs.values()) {
    const at = (field: string) => ((s as { index?: number }).index === undefined ? [s.id, field] : ['rules', (s as { index: number }).index, field]);
    const c: CompiledRule = {
      id: s.id,
      level: s.level as Level,
      description: s.description ?? s.id,
      paths: s.paths ? globs(s.paths, at('paths')) : -1,
      exclude: s.exclude?.length ? globs(s.exclude, at('exclude')) : -1,
      pattern: s.pattern ? regex(s.pattern, s.ignore_case, at('pattern')) : null,
      removed: s.removed_pattern ? regex(s.removed_pattern, s.ignore_case, at('removed_pattern')) : null,
    };
    (c.pattern || c.removed ? out.contentRules : out.pathRules).push(c);
  }
  out.anyAdded = union(out.contentRules.map((r) => r.pattern));
  out.anyRemoved = union(out.contentRules.map((r) => r.removed));
  cache.set(cfg, out);
  return out;
}

/** One expression matching whatever any of `res` matches (case-insensitive if any is); null if none, or if one uses backreferences. */
function union(res: (RegExp | null)[]): RegExp | null {
  const list = res.filter((r): r is RegExp => r !== null);
  if (list.length === 0 || list.some((r) => /\\[1-9]|\\k<|\(\?<[^=!]/.test(r.source))) return null;
  return new RegExp(list.map((r) => `(?:${r.source})`).join('|'), list.some((r) => r.ignoreCase) ? 'i' : '');
}

function regex(src: string, ignoreCase: boolean | undefined, at: (string | number)[]): RegExp {
  try {
    return new RegExp(src, ignoreCase ? 'i' : '');
  } catch (e) {
    throw new RuleError(at, `bad regular expression: ${(e as Error).message}`);
  }
}

// ------------------------------------------------------------------ dependencies

const LOCKFILES = new Set(['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock', 'Cargo.lock', 'go.sum', 'Gemfile.lock', 'composer.lock', 'poetry.lock', 'Pipfile.lock', 'uv.lock', 'pdm.lock', 'mix.lock', 'pubspec.lock', 'packages.lock.json']);
const NOT_DEPS = new Set(['name', 'version', 'description', 'license', 'edition', 'authors', 'readme', 'homepage', 'repository', 'python', 'requires-python', 'rust-version', 'node', 'npm', 'yarn', 'pnpm', 'go', 'toolchain', 'main', 'module', 'types', 'type', 'private', 'packageManager']);
const VERSIONISH = /^(?:[\^~<>=*]|\d|v\d|x\b|latest|next|npm:|workspace:|file:|link:|git[+:]|github:|https?:)/;

type DepParser = (line: string) => string | null;
const jsonDep: DepParser = (l) => {
  const m = /^\s*"(@?[\w.\-/]+)"\s*:\s*"([^"]*)"\s*,?\s*$/.exec(l);
  return m && !NOT_DEPS.has(m[1] as string) && VERSIONISH.test(m[2] as string) ? (m[1] as string) : null;
};
const tomlDep: DepParser = (l) => {
  const m = /^\s*([A-Za-z0-9][\w.-]*)\s*=\s*(?:"([^"]*)"|\{.*\bversion\b.*\})/.exec(l) ?? /^\s*"([A-Za-z0-9][\w.-]*)(?:\[[^\]]*\])?\s*(?:[=<>~!]=?[^"]*)?"\s*,?\s*$/.exec(l);
  if (!m || NOT_DEPS.has(m[1] as string)) return null;
  return m[2] === undefined || VERSIONISH.test(m[2]) ? (m[1] as string).toLowerCase() : null;
};
const MANIFESTS: Record<string, { parse: DepParser; selfLocked?: boolean }> = {
  'package.json': { parse: jsonDep },
  'composer.json': { parse: jsonDep },
  'Cargo.toml': { parse: tomlDep },
  'pyproject.toml': { parse: tomlDep },
  Pipfile: { parse: tomlDep },
  'go.mod': { parse: (l) => /^\s*(?:require\s+)?([\w.-]+\.[\w.\-/]+)\s+v\d\S*/.exec(l)?.[1] ?? null },
  Gemfile: { parse: (l) => /^\s*gem\s+['"]([\w.-]+)['"]/.exec(l)?.[1] ?? null },
};
type Manifest = { parse: DepParser; selfLocked?: boolean };
const MANIFEST_BY_NAME = new Map<string, Manifest>(Object.entries(MANIFESTS));
/** requirements*.txt pins exact versions: it is its own lockfile. */
const REQUIREMENTS: Manifest = { selfLocked: true, parse: (l) => /^\s*([A-Za-z0-9][\w.-]*)(?:\[[^\]]*\])?\s*(?:[=<>~!]=|[<>]|$)/.exec(l.replace(/\s*#.*$/, ''))?.[1]?.toLowerCase() ?? null };
function manifestOf(base: string): Manifest | null {
  return MANIFEST_BY_NAME.get(base) ?? (base.startsWith('requirements') && /^requirements.*\.(?:txt|in)$/.test(base) ? REQUIREMENTS : null);
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

// ------------------------------------------------------------------ classifying

const ws = (c: number) => c === 32 || c === 9 || c === 13 || c === 12 || c === 11 || c === 0xa0 || c === 0xfeff;

/** Whether two runs of lines hold the same text once all whitespace is ignored; stops at the first difference. */
export function sameIgnoringWhitespace(a: readonly string[], b: readonly string[]): boolean {
  let i = 0;
  let j = 0;
  let ci = 0;
  let cj = 0;
  for (;;) {
    // next non-whitespace character of each side, or -1 at the end
    let x = -1;
    while (i < a.length) {
      const l = a[i] as string;
      while (ci < l.length && ws(l.charCodeAt(ci))) ci++;
      if (ci < l.length) {
        x = l.charCodeAt(ci++);
        break;
      }
      i++;
      ci = 0;
    }
    let y = -1;
    while (j < b.length) {
      const l = b[j] as string;
      while (cj < l.length && ws(l.charCodeAt(cj))) cj++;
      if (cj < l.length) {
        y = l.charCodeAt(cj++);
        break;
      }
      j++;
      cj = 0;
    }
    if (x !== y) return false;
    if (x === -1) return true;
  }
}

/** The lines that `any` matches (all of them when there is no prefilter). */
function prefilter(lines: readonly string[], any: RegExp | null): readonly string[] {
  if (any === null) return lines;
  let out: string[] | null = null;
  for (const l of lines) if (any.test(l)) (out ??= []).push(l);
  return out ?? [];
}

export interface ClassifyOptions {
  intent?: Intent | undefined;
  /** How many file paths one reason lists at most (the count is in the message). */
  maxFilesPerReason?: number;
}

interface Candidate {
  rule: CompiledRule;
  file: ChangedFile;
  side: 'added' | 'removed';
  lines: string[];
}

/**
 * Classifies a change file by file (`add`, e.g. while git still streams the diff), then
 * `finish` applies what needs the whole change: moved lines, dependencies, size, intent.
 * A content-rule hit counts only when its line is new: the same text (trimmed) removed
 * elsewhere in the change is a move, not new API. Hits are checked against the rest of the
 * change once, at the end, so a change with no hits never builds that index.
 */
export class Classifier {
  private readonly fired = new Map<string, { level: Level; files: string[]; notes: string[] }>();
  private readonly all: ChangedFile[] = [];
  private readonly stats = { files: 0, additions: 0, deletions: 0, renames: 0 };
  private readonly memo: Uint8Array;
  private reviewable = 0;
  private readonly lockfiles: string[] = [];
  private readonly manifests: { f: ChangedFile; m: Manifest }[] = [];
  private readonly candidates: Candidate[] = [];
  /** Files whose only cover would be a content hit: "other" unless a hit survives. */
  private readonly pendingOther = new Set<ChangedFile>();
  private readonly newSource: string[] = [];

  constructor(
    private readonly rules: CompiledRules,
    private readonly opts: ClassifyOptions = {},
  ) {
    this.memo = new Uint8Array(rules.matchers.length); // per file: 0 not tested, 1 match, 2 no match
  }

  private fire(rule: string, level: Level | undefined, file: string | null, note?: string): void {
    if (level === undefined) return; // removed by configuration
    let r = this.fired.get(rule);
    if (!r) this.fired.set(rule, (r = { level, files: [], notes: [] }));
    if (file !== null && r.files[r.files.length - 1] !== file) r.files.push(file);
    if (note && r.notes.length < 5 && !r.notes.includes(note)) r.notes.push(note);
  }

  add(f: ChangedFile): void {
    const rules = this.rules;
    const L = rules.logic;
    const stats = this.stats;
    this.all.push(f);
    stats.files++;
    stats.additions += f.additions;
    stats.deletions += f.deletions;
    if (f.status === 'renamed') stats.renames++;
    const base = basename(f.path);
    const isLock = LOCKFILES.has(base);
    if (!isLock && !f.binary) this.reviewable += f.additions + f.deletions;
    const old = f.old_path && f.old_path !== f.path ? f.old_path : null;
    const memo = this.memo;
    memo.fill(0);
    const is = (slot: number): boolean => {
      if (slot < 0) return false;
      let v = memo[slot];
      if (!v) {
        const m = rules.matchers[slot] as PathMatcher;
        v = memo[slot] = m.test(f.path, base) || (old !== null && m.test(old)) ? 1 : 2;
      }
      return v === 1;
    };
    let covered = false;

    if (f.symlink || f.was_symlink) {
      this.fire('symlink', L.get('symlink'), f.path, `${f.path} ${f.status === 'deleted' ? 'removed' : f.symlink ? 'is a symlink' : 'was a symlink'}`);
      covered = true;
    }
    for (const r of rules.pathRules) {
      if (is(r.paths) && !is(r.exclude)) {
        this.fire(r.id, r.level, f.path);
        covered = true;
      }
    }
    if (isLock) {
      covered = true;
      if (f.status !== 'deleted') this.lockfiles.push(f.path);
    }
    const manifest = manifestOf(base);
    if (manifest && f.status !== 'deleted') {
      covered = true;
      this.manifests.push({ f, m: manifest });
    }
    if (f.binary) {
      if (!covered) this.fire('binary', L.get('binary'), f.path);
      return;
    }
    if ((f.status === 'renamed' || f.status === 'copied') && f.additions === 0 && f.deletions === 0) {
      if (!covered) this.fire('rename_only', L.get('rename_only'), f.path, `${f.old_path} → ${f.path}`);
      return;
    }
    const add = f.added;
    const rem = f.removed;
    // Whitespace-only needs every line (a parser may keep only the first lines of a huge file).
    if (add && rem && add.length + rem.length > 0 && add.length === f.additions && rem.length === f.deletions && sameIgnoringWhitespace(add, rem)) {
      this.fire('whitespace_only', L.get('whitespace_only'), f.path);
      return;
    }
    if (f.status === 'added' && is(rules.source) && !is(rules.tests)) this.newSource.push(f.path);
    let hits = 0;
    let addC: readonly string[] | null = null; // lines any content rule could match, computed once a rule applies
    let remC: readonly string[] | null = null;
    for (const r of rules.contentRules) {
      if ((r.paths >= 0 && !is(r.paths)) || is(r.exclude)) continue;
      if (r.pattern && add) {
        addC ??= prefilter(add, rules.anyAdded);
        if (addC.length) hits += this.candidate(r, f, 'added', r.pattern, addC);
      }
      if (r.removed && rem) {
        remC ??= prefilter(rem, rules.anyRemoved);
        if (remC.length) hits += this.candidate(r, f, 'removed', r.removed, remC);
      }
    }
    if (covered) return;
    if (hits) this.pendingOther.add(f);
    else this.other(f);
  }

  private candidate(rule: CompiledRule, file: ChangedFile, side: 'added' | 'removed', re: RegExp, lines: readonly string[]): number {
    const found: string[] = [];
    for (const l of lines) if (re.test(l) && found.push(l) >= 20) break;
    if (found.length) this.candidates.push({ rule, file, side, lines: found });
    return found.length ? 1 : 0;
  }

  private other(f: ChangedFile): void {
    this.fire('other', this.rules.logic.get('other'), f.path, f.status === 'deleted' ? `${f.path} deleted` : undefined);
  }

  finish(): Classification {
    const L = this.rules.logic;
    const fire = this.fire.bind(this);

    // Moves: candidate lines (content hits, manifest lines) whose text appears on the other side.
    const candAdded = new Set<string>();
    const candRemoved = new Set<string>();
    for (const c of this.candidates) for (const l of c.lines) (c.side === 'added' ? candAdded : candRemoved).add(l.trim());
    for (const { f } of this.manifests) {
      for (const l of f.added ?? []) candAdded.add(l.trim());
      for (const l of f.removed ?? []) candRemoved.add(l.trim());
    }
    const movedIn = new Set<string>(); // added lines that were removed elsewhere
    const movedOut = new Set<string>(); // removed lines that were added elsewhere
    if (candAdded.size || candRemoved.size) {
      for (const f of this.all) {
        if (candAdded.size && f.removed) for (const l of f.removed) {
          const k = l.trim();
          if (candAdded.has(k)) movedIn.add(k);
        }
        if (candRemoved.size && f.added) for (const l of f.added) {
          const k = l.trim();
          if (candRemoved.has(k)) movedOut.add(k);
        }
      }
    }
    const isNew = (l: string) => {
      const k = l.trim();
      return k !== '' && !movedIn.has(k);
    };
    const isGone = (l: string) => {
      const k = l.trim();
      return k !== '' && !movedOut.has(k);
    };

    const hitFiles = new Set<ChangedFile>();
    for (const c of this.candidates) {
      const hit = c.lines.find(c.side === 'added' ? isNew : isGone);
      if (!hit) continue;
      fire(c.rule.id, c.rule.level, c.file.path, `${c.file.path}: ${hit.trim().slice(0, 80)}`);
      hitFiles.add(c.file);
    }
    for (const f of this.pendingOther) if (!hitFiles.has(f)) this.other(f);

    // Dependencies: a bump with its lockfile is Ship; a new one, or any change without a lockfile, is Ask.
    const anyLock = this.lockfiles.length > 0; // a monorepo's manifests may sit below its one lockfile
    for (const { f, m } of this.manifests) {
      const added = new Set<string>();
      const removed = new Set<string>();
      let otherLines = 0;
      for (const l of f.added ?? []) {
        if (!isNew(l)) continue;
        const d = m.parse(l);
        if (d) added.add(d);
        else if (/\w/.test(l)) otherLines++;
      }
      for (const l of f.removed ?? []) {
        if (!isGone(l)) continue;
        const d = m.parse(l);
        if (d) removed.add(d);
        else if (/\w/.test(l)) otherLines++;
      }
      if (otherLines > 0) fire('other', L.get('other'), f.path, `${f.path}: changes outside the dependency lists`);
      const locked = m.selfLocked === true || anyLock;
      const bumped = [...added].filter((n) => removed.has(n));
      const fresh = [...added].filter((n) => !removed.has(n));
      const dropped = [...removed].filter((n) => !added.has(n));
      for (const n of fresh) fire('new_dependency', L.get('new_dependency'), f.path, `new dependency ${n} in ${f.path}`);
      for (const n of dropped) fire('removed_dependency', L.get('removed_dependency'), f.path, `${n} removed from ${f.path}`);
      if (bumped.length || f.added === undefined) {
        if (locked) fire('dependency_bump', L.get('dependency_bump'), f.path, bumped.length ? `${bumped.slice(0, 5).join(', ')} bumped in ${f.path}` : undefined);
        else fire('lockfile_missing', L.get('lockfile_missing'), f.path, `${f.path} changed without its lockfile`);
      } else if (fresh.length && !locked) fire('lockfile_missing', L.get('lockfile_missing'), f.path, `${f.path} changed without its lockfile`);
    }
    if (this.manifests.length === 0) for (const p of this.lockfiles) fire('lockfile', L.get('lockfile'), p);

    const rules = this.rules;
    if (this.reviewable > rules.maxLines) fire('size', L.get('size'), null, `${this.reviewable} changed lines (lockfiles and binaries not counted) > ${rules.maxLines}`);

    let level: Level = 'ship';
    for (const r of this.fired.values()) level = maxLevel(level, r.level);

    // Intent: stated by the caller, checked against the diff. The diff always wins.
    const opts = this.opts;
    const fired = this.fired;
    const files = this.all;
    const newSource = this.newSource;
    const intentLevel = L.get('intent');
    if (opts.intent && intentLevel !== undefined) {
      const api = fired.get('exported_api')?.files ?? [];
      const claimsNoFeature = opts.intent === 'refactor' || opts.intent === 'style';
      const newFiles = newSource.filter((p) => !api.includes(p));
      const expected: Level = opts.intent === 'feature' ? 'ask' : opts.intent === 'docs' || opts.intent === 'config' || opts.intent === 'deps' ? 'ship' : 'show';
      if (claimsNoFeature && (api.length || newFiles.length)) {
        const what = [api.length ? `adds exported API (${api.slice(0, 3).join(', ')})` : '', newFiles.length ? `adds source files (${newFiles.slice(0, 3).join(', ')})` : ''].filter(Boolean).join(' and ');
        fire('intent', 'ask', null, `stated intent "${opts.intent}" but the diff ${what}: the diff wins`);
        for (const p of [...api, ...newFiles]) fire('intent', 'ask', p);
        level = 'ask';
      } else if (expected !== level && files.length > 0) {
        const top = [...fired.entries()].filter(([id, r]) => r.level === level && id !== 'intent').map(([id]) => id);
        fire('intent', level, null, `stated intent "${opts.intent}" suggests ${expected}, but the diff is ${level}${top.length ? ` (${top.join(', ')})` : ''}: the diff wins`);
      }
    }

    const cap = opts.maxFilesPerReason ?? 50;
    const reasons: Reason[] = [...fired.entries()]
      .map(([rule, r]) => {
        const desc = LOGIC_RULES[rule]?.description ?? [...rules.pathRules, ...rules.contentRules].find((x) => x.id === rule)?.description ?? rule;
        const more = r.files.length > cap ? ` (+${r.files.length - cap} more files)` : '';
        const message = (r.notes.length ? r.notes.join('; ') : `${desc}: ${r.files.length} file${r.files.length === 1 ? '' : 's'}`) + more;
        return { level: r.level, rule, files: r.files.slice(0, cap), message };
      })
      .sort((a, b) => RANK[b.level] - RANK[a.level] || a.rule.localeCompare(b.rule));
    return { level, action: ACTIONS[level], reasons, stats: { ...this.stats } };
  }
}

/** Classifies a whole change at once (see Classifier). */
export function classify(files: readonly ChangedFile[], rules: CompiledRules, opts: ClassifyOptions = {}): Classification {
  const c = new Classifier(rules, opts);
  for (const f of files) c.add(f);
  return c.finish();
}
