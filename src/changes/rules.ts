/**
 * Ship / Show / Ask: the rule engine. Pure: it sees changed files (paths, status, line counts,
 * added and removed lines when known) and the rules, and says which rules fire on which files.
 * The highest level any rule reaches wins. Rules are compiled once, so a classification costs
 * O(files × rules) plus one pass over the changed lines. Content patterns run on RE2 (re2js):
 * linear time in the line's length whatever the pattern, so no diff can make a rule backtrack;
 * lines over `max_line_length` and content past `max_content_length` are not inspected, and the
 * `content_skipped` rule says so.
 */
import { RE2JS, RE2Set } from 're2js';
import { GlobError, compileGlobs, globSource, type PathMatcher } from '../core/glob.js';

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
  /** Longer added or removed lines are not inspected by content rules (nor dependency parsers). */
  max_line_length?: number | undefined;
  /** Characters of changed lines inspected per classification; the rest is not. */
  max_content_length?: number | undefined;
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
  content_skipped: { level: 'ask', description: 'lines the content rules did not inspect (too long, or past the content limit)' },
  size: { level: 'show', description: 'more changed lines than max_lines' },
  other: { level: 'show', description: 'changed files no other rule covers' },
  intent: { level: 'show', description: 'the stated intent and the diff disagree (the diff wins)' },
};

export const DEFAULT_MAX_LINES = 300;
export const DEFAULT_MAX_LINE_LENGTH = 4096;
export const DEFAULT_MAX_CONTENT_LENGTH = 16 * 1024 * 1024;
/** Characters inspected between two chances for the event loop (classifyAsync). */
const YIELD_EVERY = 128 * 1024;

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
  /** Index of its pattern in CompiledRules.added (or removed_pattern in .removed), or -1. */
  pattern: number;
  removed: number;
}

/** A content pattern as configured: RE2 syntax. */
export interface Pattern {
  source: string;
  ignoreCase: boolean;
}
/** Which of a list of patterns match one line: their indices, ascending. */
export interface PatternSet {
  match(line: string): readonly number[];
}
/** Builds the matcher for a list of valid RE2 patterns. The default is RE2 itself; a bench may compare another. */
export type PatternEngine = (list: readonly Pattern[]) => PatternSet;

const NO_MATCH: readonly number[] = [];

/**
 * RE2 (re2js), in time linear in the line: one lazy-DFA pass asks whether any pattern matches
 * (most lines match none, and that test is about twice as fast as the set's), then the set finds
 * which ones.
 */
export const re2Engine: PatternEngine = (list) => {
  const sources = list.map((p) => (p.ignoreCase ? `(?i:${p.source})` : `(?:${p.source})`));
  const any = RE2JS.compile(sources.join('|'));
  const set = new RE2Set(RE2Set.UNANCHORED);
  for (const s of sources) set.add(s);
  set.compile();
  return { match: (line) => (any.test(line) ? set.match(line) : NO_MATCH) };
};

export interface CompiledRules {
  pathRules: CompiledRule[];
  contentRules: CompiledRule[];
  logic: Map<string, Level>;
  maxLines: number;
  matchers: PathMatcher[];
  source: number;
  tests: number;
  /** The content rules' patterns on added lines (indexed by CompiledRule.pattern) and on removed lines. */
  added: PatternSet | null;
  removed: PatternSet | null;
  maxLineLength: number;
  maxContentLength: number;
}

const caches = new WeakMap<PatternEngine, WeakMap<object, CompiledRules>>();

/** Compiles the default rules with the configuration's additions, overrides and removals. Throws RuleError. */
export function compileRules(cfg: RulesConfig = {}, engine: PatternEngine = re2Engine): CompiledRules {
  let cache = caches.get(engine);
  if (!cache) caches.set(engine, (cache = new WeakMap()));
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
  const out: CompiledRules = {
    pathRules: [],
    contentRules: [],
    logic,
    maxLines: cfg.max_lines ?? DEFAULT_MAX_LINES,
    matchers: [],
    source: -1,
    tests: -1,
    added: null,
    removed: null,
    maxLineLength: cfg.max_line_length ?? DEFAULT_MAX_LINE_LENGTH,
    maxContentLength: cfg.max_content_length ?? DEFAULT_MAX_CONTENT_LENGTH,
  };
  const patterns: Record<'added' | 'removed', Pattern[]> = { added: [], removed: [] };
  const pattern = (side: 'added' | 'removed', src: string | undefined, ignoreCase: boolean | undefined, id: string, at: (string | number)[], configured: boolean): number => {
    if (!src) return -1;
    if (configured) checkPattern(src, id, at); // the built-in patterns are RE2 already (test/unit/risk.test.ts compiles them)
    return patterns[side].push({ source: src, ignoreCase: ignoreCase === true }) - 1;
  };
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
      pattern: pattern('added', s.pattern, s.ignore_case, s.id, at('pattern'), (s as { index?: number }).index !== undefined),
      removed: pattern('removed', s.removed_pattern, s.ignore_case, s.id, at('removed_pattern'), (s as { index?: number }).index !== undefined),
    };
    (c.pattern >= 0 || c.removed >= 0 ? out.contentRules : out.pathRules).push(c);
  }
  // Built on the first line inspected: a server that never classifies (or checks its config at
  // start-up) does not pay for the RE2 set.
  const lazy = (list: Pattern[]): PatternSet => {
    let set: PatternSet | null = null;
    return { match: (line) => (set ??= engine(list)).match(line) };
  };
  if (patterns.added.length) out.added = lazy(patterns.added);
  if (patterns.removed.length) out.removed = lazy(patterns.removed);
  cache.set(cfg, out);
  return out;
}

/** A pattern RE2 cannot compile (backreferences, lookaround, bad syntax) is an error naming the rule. */
function checkPattern(src: string, id: string, at: (string | number)[]): void {
  try {
    RE2JS.compile(src);
  } catch (e) {
    throw new RuleError(at, `bad regular expression in rule ${id}: ${(e as Error).message} (RE2 syntax, linear time: no backreferences or lookaround)`);
  }
}

// ------------------------------------------------------------------ dependencies

const LOCKFILES = new Set(['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock', 'Cargo.lock', 'go.sum', 'Gemfile.lock', 'composer.lock', 'poetry.lock', 'Pipfile.lock', 'uv.lock', 'pdm.lock', 'mix.lock', 'pubspec.lock', 'packages.lock.json']);
const NOT_DEPS = new Set(['name', 'version', 'description', 'license', 'edition', 'authors', 'readme', 'homepage', 'repository', 'python', 'requires-python', 'rust-version', 'node', 'npm', 'yarn', 'pnpm', 'go', 'toolchain', 'main', 'module', 'types', 'type', 'private', 'packageManager']);
const VERSIONISH = /^(?:[\^~<>=*]|\d|v\d|x\b|latest|next|npm:|workspace:|file:|link:|git[+:]|github:|https?:)/;

type DepParser = (line: string) => string | null;
/** RE2 for the manifest lines too (`\s*,?\s*$` backtracks quadratically on a long run of spaces); exec only after the DFA's test. */
const re2 = (src: string): { exec(l: string): (string | undefined)[] | null } => {
  const r = RE2JS.compile(src);
  return { exec: (l) => (r.test(l) ? (r.exec(l) as (string | undefined)[] | null) : null) };
};
const JSON_DEP = re2('^\\s*"(@?[\\w.\\-/]+)"\\s*:\\s*"([^"]*)"\\s*,?\\s*$');
const TOML_DEP = re2('^\\s*([A-Za-z0-9][\\w.-]*)\\s*=\\s*(?:"([^"]*)"|\\{.*\\bversion\\b.*\\})');
const TOML_ARRAY_DEP = re2('^\\s*"([A-Za-z0-9][\\w.-]*)(?:\\[[^\\]]*\\])?\\s*(?:[=<>~!]=?[^"]*)?"\\s*,?\\s*$');
const GO_DEP = re2('^\\s*(?:require\\s+)?([\\w.-]+\\.[\\w.\\-/]+)\\s+v\\d\\S*');
const GEM_DEP = re2(`^\\s*gem\\s+['"]([\\w.-]+)['"]`);
const REQ_DEP = re2('^\\s*([A-Za-z0-9][\\w.-]*)(?:\\[[^\\]]*\\])?\\s*(?:[=<>~!]=|[<>]|$)');
const REQ_COMMENT = re2('^(.*?)\\s*#.*$');
const jsonDep: DepParser = (l) => {
  const m = JSON_DEP.exec(l);
  return m && !NOT_DEPS.has(m[1] as string) && VERSIONISH.test(m[2] as string) ? (m[1] as string) : null;
};
const tomlDep: DepParser = (l) => {
  const m = TOML_DEP.exec(l) ?? TOML_ARRAY_DEP.exec(l);
  if (!m || NOT_DEPS.has(m[1] as string)) return null;
  return m[2] === undefined || VERSIONISH.test(m[2]) ? (m[1] as string).toLowerCase() : null;
};
const MANIFESTS: Record<string, { parse: DepParser; selfLocked?: boolean }> = {
  'package.json': { parse: jsonDep },
  'composer.json': { parse: jsonDep },
  'Cargo.toml': { parse: tomlDep },
  'pyproject.toml': { parse: tomlDep },
  Pipfile: { parse: tomlDep },
  'go.mod': { parse: (l) => GO_DEP.exec(l)?.[1] ?? null },
  Gemfile: { parse: (l) => GEM_DEP.exec(l)?.[1] ?? null },
};
type Manifest = { parse: DepParser; selfLocked?: boolean };
const MANIFEST_BY_NAME = new Map<string, Manifest>(Object.entries(MANIFESTS));
/** requirements*.txt pins exact versions: it is its own lockfile. */
const REQUIREMENTS: Manifest = { selfLocked: true, parse: (l) => REQ_DEP.exec(REQ_COMMENT.exec(l)?.[1] ?? l)?.[1]?.toLowerCase() ?? null };
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

/** Runs a classification step to its end, ignoring its pauses. */
function drain<T>(g: Generator<void, T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/** Runs a classification step, giving the event loop a turn at each pause. */
async function drainAsync<T>(g: Generator<void, T>): Promise<T> {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
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

/** Whether a hit line is new (added, not removed elsewhere) or gone (removed, not re-added elsewhere). */
interface Moves {
  isNew(line: string): boolean;
  isGone(line: string): boolean;
}

/** Matching lines per applicable rule of one file and side, at most 20 each. */
type Found = Map<number, { rule: CompiledRule; lines: string[] }>;

/**
 * Classifies a change file by file (`add`, e.g. while git still streams the diff), then
 * `finish` applies what needs the whole change: moved lines, dependencies, size, intent.
 * A content-rule hit counts only when its line is new: the same text (trimmed) removed
 * elsewhere in the change is a move, not new API. Hits are checked against the rest of the
 * change once, at the end, so a change with no hits never builds that index.
 * `add` and `finish` run at once; `addAsync` and `finishAsync` pause for the event loop every
 * 128K characters inspected, so one large diff does not hold a server's only thread.
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
  /** Characters inspected so far (against max_content_length), and since the last pause. */
  private inspected = 0;
  private sincePause = 0;

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
    drain(this.adding(f));
  }

  addAsync(f: ChangedFile): Promise<void> {
    return drainAsync(this.adding(f));
  }

  /** Whether content rules may read this line (long lines and lines past the budget are counted as skipped instead). */
  private inspect(l: string, skipped: { long: number; over: number }): boolean {
    if (l.length > this.rules.maxLineLength) {
      skipped.long++;
      return false;
    }
    if (this.inspected + l.length > this.rules.maxContentLength) {
      this.inspected = this.rules.maxContentLength; // spent: nothing after this line is read either
      skipped.over++;
      return false;
    }
    this.inspected += l.length;
    this.sincePause += l.length + 16;
    return true;
  }

  /** The pause points: true once enough has been inspected since the last one. */
  private pauseDue(): boolean {
    if (this.sincePause < YIELD_EVERY) return false;
    this.sincePause = 0;
    return true;
  }

  private skipped(f: ChangedFile, skipped: { long: number; over: number }): void {
    const L = this.rules.logic;
    if (skipped.long) this.fire('content_skipped', L.get('content_skipped'), f.path, `${f.path}: ${skipped.long} line${skipped.long === 1 ? '' : 's'} over ${this.rules.maxLineLength} characters not inspected`);
    if (skipped.over) this.fire('content_skipped', L.get('content_skipped'), f.path, `${f.path}: ${skipped.over} line${skipped.over === 1 ? '' : 's'} past the ${this.rules.maxContentLength}-character content limit not inspected`);
  }

  /** Which applicable rules match which lines of one side (the set finds every matching rule in one pass per line). */
  private *scan(lines: readonly string[], set: PatternSet | null, side: 'pattern' | 'removed', applies: readonly CompiledRule[], skipped: { long: number; over: number }): Generator<void, Found> {
    const found: Found = new Map();
    if (!set) return found;
    const wanted = new Map<number, CompiledRule>();
    for (const r of applies) if (r[side] >= 0) wanted.set(r[side], r);
    if (wanted.size === 0) return found;
    let full = 0;
    for (const l of lines) {
      if (!this.inspect(l, skipped)) continue;
      for (const i of set.match(l)) {
        const rule = wanted.get(i);
        if (!rule) continue;
        let hit = found.get(i);
        if (!hit) found.set(i, (hit = { rule, lines: [] }));
        if (hit.lines.length < 20 && hit.lines.push(l) === 20) full++;
      }
      if (full === wanted.size) break;
      if (this.pauseDue()) yield;
    }
    return found;
  }

  private *adding(f: ChangedFile): Generator<void, void> {
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
      // git shows a file as binary for a NUL byte or a `binary`/`-diff` in .gitattributes, both the
      // agent's to write: a file content rules look at is then unread content, not a harmless binary.
      const unread = rules.contentRules.filter((r) => r.paths >= 0 && is(r.paths) && !is(r.exclude)).map((r) => r.id);
      if (unread.length) this.fire('content_skipped', L.get('content_skipped'), f.path, `${f.path}: shown as binary (a NUL byte, or binary/-diff in .gitattributes), so ${unread.join(', ')} did not inspect it`);
      else if (!covered) this.fire('binary', L.get('binary'), f.path);
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
    const applies = rules.contentRules.filter((r) => (r.paths < 0 || is(r.paths)) && !is(r.exclude));
    if (applies.length) {
      const skipped = { long: 0, over: 0 };
      const onAdded = add ? yield* this.scan(add, rules.added, 'pattern', applies, skipped) : null;
      const onRemoved = rem ? yield* this.scan(rem, rules.removed, 'removed', applies, skipped) : null;
      for (const r of applies) {
        const a = onAdded?.get(r.pattern);
        if (a) this.candidates.push({ rule: r, file: f, side: 'added', lines: a.lines });
        const d = onRemoved?.get(r.removed);
        if (d) this.candidates.push({ rule: r, file: f, side: 'removed', lines: d.lines });
        if (a || d) hits++;
      }
      this.skipped(f, skipped);
    }
    if (covered) return;
    if (hits) this.pendingOther.add(f);
    else this.other(f);
  }

  private other(f: ChangedFile): void {
    this.fire('other', this.rules.logic.get('other'), f.path, f.status === 'deleted' ? `${f.path} deleted` : undefined);
  }

  finish(): Classification {
    return drain(this.finishing());
  }

  finishAsync(): Promise<Classification> {
    return drainAsync(this.finishing());
  }

  /** The verdict once every file is in: a few named decisions, in this order. */
  private *finishing(): Generator<void, Classification> {
    const moves = yield* this.moves();
    this.contentHits(moves);
    yield* this.dependencies(moves);
    this.size();
    let level: Level = 'ship';
    for (const r of this.fired.values()) level = maxLevel(level, r.level);
    level = this.intent(level);
    return { level, action: ACTIONS[level], reasons: this.reasons(), stats: { ...this.stats } };
  }

  /** Moves: candidate lines (content hits, manifest lines) whose text appears on the other side of the change. */
  private *moves(): Generator<void, Moves> {
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
        this.sincePause += (f.removed?.length ?? 0) + (f.added?.length ?? 0);
        if (this.pauseDue()) yield;
      }
    }
    return {
      isNew: (l) => {
        const k = l.trim();
        return k !== '' && !movedIn.has(k);
      },
      isGone: (l) => {
        const k = l.trim();
        return k !== '' && !movedOut.has(k);
      },
    };
  }

  /** Content rules fire on their first line that is new (not moved); a file only they covered is "other" otherwise. */
  private contentHits({ isNew, isGone }: Moves): void {
    const hitFiles = new Set<ChangedFile>();
    for (const c of this.candidates) {
      const hit = c.lines.find(c.side === 'added' ? isNew : isGone);
      if (!hit) continue;
      this.fire(c.rule.id, c.rule.level, c.file.path, `${c.file.path}: ${hit.trim().slice(0, 80)}`);
      hitFiles.add(c.file);
    }
    for (const f of this.pendingOther) if (!hitFiles.has(f)) this.other(f);
  }

  /** Dependencies: a bump with its lockfile is Ship; a new one, or any change without a lockfile, is Ask. */
  private *dependencies(moves: Moves): Generator<void, void> {
    const L = this.rules.logic;
    const fire = this.fire.bind(this);
    const anyLock = this.lockfiles.length > 0; // a monorepo's manifests may sit below its one lockfile
    for (const { f, m } of this.manifests) {
      const added = new Set<string>();
      const removed = new Set<string>();
      let otherLines = 0;
      const skipped = { long: 0, over: 0 };
      for (const [lines, keep, into] of [[f.added, moves.isNew, added], [f.removed, moves.isGone, removed]] as const) {
        for (const l of lines ?? []) {
          if (!keep(l)) continue;
          const d = this.inspect(l, skipped) ? m.parse(l) : null;
          if (d) into.add(d);
          else if (/\w/.test(l)) otherLines++;
          this.sincePause += 256; // a parse with captures costs more than a DFA pass
          if (this.pauseDue()) yield;
        }
      }
      this.skipped(f, skipped);
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
  }

  /** More reviewable lines than max_lines (lockfiles and binaries not counted). */
  private size(): void {
    const rules = this.rules;
    if (this.reviewable > rules.maxLines) this.fire('size', rules.logic.get('size'), null, `${this.reviewable} changed lines (lockfiles and binaries not counted) > ${rules.maxLines}`);
  }

  /** Intent: stated by the caller, checked against the diff. The diff always wins; the level it returns is final. */
  private intent(level: Level): Level {
    const { opts, fired } = this;
    if (!opts.intent || this.rules.logic.get('intent') === undefined) return level;
    const api = fired.get('exported_api')?.files ?? [];
    const claimsNoFeature = opts.intent === 'refactor' || opts.intent === 'style';
    const newFiles = this.newSource.filter((p) => !api.includes(p));
    const expected: Level = opts.intent === 'feature' ? 'ask' : opts.intent === 'docs' || opts.intent === 'config' || opts.intent === 'deps' ? 'ship' : 'show';
    if (claimsNoFeature && (api.length || newFiles.length)) {
      const what = [api.length ? `adds exported API (${api.slice(0, 3).join(', ')})` : '', newFiles.length ? `adds source files (${newFiles.slice(0, 3).join(', ')})` : ''].filter(Boolean).join(' and ');
      this.fire('intent', 'ask', null, `stated intent "${opts.intent}" but the diff ${what}: the diff wins`);
      for (const p of [...api, ...newFiles]) this.fire('intent', 'ask', p);
      return 'ask';
    }
    if (expected !== level && this.all.length > 0) {
      const top = [...fired.entries()].filter(([id, r]) => r.level === level && id !== 'intent').map(([id]) => id);
      this.fire('intent', level, null, `stated intent "${opts.intent}" suggests ${expected}, but the diff is ${level}${top.length ? ` (${top.join(', ')})` : ''}: the diff wins`);
    }
    return level;
  }

  /** One reason per rule that fired, highest level first; at most maxFilesPerReason files each (the count is in the message). */
  private reasons(): Reason[] {
    const rules = this.rules;
    const cap = this.opts.maxFilesPerReason ?? 50;
    return [...this.fired.entries()]
      .map(([rule, r]) => {
        const desc = LOGIC_RULES[rule]?.description ?? [...rules.pathRules, ...rules.contentRules].find((x) => x.id === rule)?.description ?? rule;
        const more = r.files.length > cap ? ` (+${r.files.length - cap} more files)` : '';
        const message = (r.notes.length ? r.notes.join('; ') : `${desc}: ${r.files.length} file${r.files.length === 1 ? '' : 's'}`) + more;
        return { level: r.level, rule, files: r.files.slice(0, cap), message };
      })
      .sort((a, b) => RANK[b.level] - RANK[a.level] || a.rule.localeCompare(b.rule));
  }
}

/** Classifies a whole change at once (see Classifier). */
export function classify(files: readonly ChangedFile[], rules: CompiledRules, opts: ClassifyOptions = {}): Classification {
  const c = new Classifier(rules, opts);
  for (const f of files) c.add(f);
  return c.finish();
}

/** The same, pausing for the event loop while it inspects content (a server's classify_change). */
export async function classifyAsync(files: readonly ChangedFile[], rules: CompiledRules, opts: ClassifyOptions = {}): Promise<Classification> {
  const c = new Classifier(rules, opts);
  for (const f of files) await c.addAsync(f);
  return c.finishAsync();
}
