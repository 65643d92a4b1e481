/**
 * Ship / Show / Ask: the rule engine. Pure: it sees changed files (paths, status, line counts,
 * added and removed lines when known) and the rules, and says which rules fire on which files.
 * The highest level any rule reaches wins. Rules are compiled once (one RegExp per rule), so a
 * classification costs O(files × rules) plus one pass over the changed lines.
 */
import { GlobError, globsToRegExp } from './glob.js';

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
  { id: 'exported_api', level: 'ask', description: 'new exported API in source', paths: SOURCE, exclude: TESTS, pattern: '^\\s*export\\s+(?:default\\s+)?(?:async\\s+)?(?:function|class|const|let|var|interface|type|enum|abstract|namespace|\\{|\\*)|^\\s*(?:module\\.)?exports(?:\\.\\w+)?\\s*=|^pub\\s+(?:async\\s+)?(?:fn|struct|enum|trait|mod|type|const|static)\\b|^func\\s+(?:\\([^)]*\\)\\s*)?[A-Z]|^(?:async\\s+)?def\\s+[a-zA-Z]|^class\\s+[A-Za-z]|^\\s*public\\s+(?:static\\s+)?(?:final\\s+)?(?:class|interface|enum|record|[\\w<>\\[\\]]+\\s+\\w+\\s*\\()|\\b(?:app|router|server)\\.(?:get|post|put|patch|delete|route|use)\\s*\\(|@(?:app|router)\\.(?:get|post|put|patch|delete|route)\\b|@(?:Get|Post|Put|Patch|Delete|RequestMapping)\\b' },
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
  paths: RegExp | null;
  exclude: RegExp | null;
  pattern: RegExp | null;
  removed: RegExp | null;
}

export interface CompiledRules {
  pathRules: CompiledRule[];
  contentRules: CompiledRule[];
  logic: Map<string, Level>;
  maxLines: number;
  source: RegExp;
  tests: RegExp;
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
  const out: CompiledRules = { pathRules: [], contentRules: [], logic, maxLines: cfg.max_lines ?? DEFAULT_MAX_LINES, source: globsToRegExp(SOURCE), tests: globsToRegExp(TESTS) };
  for (const s of specs.values()) {
    const at = (field: string) => ((s as { index?: number }).index === undefined ? [s.id, field] : ['rules', (s as { index: number }).index, field]);
    const c: CompiledRule = {
      id: s.id,
      level: s.level as Level,
      description: s.description ?? s.id,
      paths: s.paths ? globs(s.paths, at('paths')) : null,
      exclude: s.exclude?.length ? globs(s.exclude, at('exclude')) : null,
      pattern: s.pattern ? regex(s.pattern, s.ignore_case, at('pattern')) : null,
      removed: s.removed_pattern ? regex(s.removed_pattern, s.ignore_case, at('removed_pattern')) : null,
    };
    (c.pattern || c.removed ? out.contentRules : out.pathRules).push(c);
  }
  cache.set(cfg, out);
  return out;
}

function globs(list: string[], at: (string | number)[]): RegExp {
  for (const [j, g] of list.entries()) {
    try {
      globsToRegExp([g]);
    } catch (e) {
      throw new RuleError([...at, j], `bad glob ${JSON.stringify(g)}: ${(e as GlobError).message}`);
    }
  }
  return globsToRegExp(list);
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
function manifestOf(base: string): { parse: DepParser; selfLocked?: boolean } | null {
  if (MANIFESTS[base]) return MANIFESTS[base] ?? null;
  if (/^requirements.*\.(?:txt|in)$/.test(base)) {
    return { selfLocked: true, parse: (l) => /^\s*([A-Za-z0-9][\w.-]*)(?:\[[^\]]*\])?\s*(?:[=<>~!]=|[<>]|$)/.exec(l.replace(/\s*#.*$/, ''))?.[1]?.toLowerCase() ?? null };
  }
  return null;
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const dirname = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

// ------------------------------------------------------------------ classifying

const squash = (s: string) => s.replace(/\s+/g, '');

/** Lines added in one place and removed in another (a move) are not new: count them out, as a multiset. */
function netLines(files: readonly ChangedFile[], side: 'added' | 'removed'): Map<ChangedFile, string[]> {
  const other = side === 'added' ? 'removed' : 'added';
  const pool = new Map<string, number>();
  for (const f of files) for (const l of f[other] ?? []) {
    const k = squash(l);
    if (k) pool.set(k, (pool.get(k) ?? 0) + 1);
  }
  const out = new Map<ChangedFile, string[]>();
  for (const f of files) {
    const lines = f[side];
    if (!lines) continue;
    const kept: string[] = [];
    for (const l of lines) {
      const k = squash(l);
      const n = pool.get(k) ?? 0;
      if (k && n > 0) pool.set(k, n - 1);
      else if (k) kept.push(l);
    }
    out.set(f, kept);
  }
  return out;
}

export interface ClassifyOptions {
  intent?: Intent | undefined;
  /** How many file paths one reason lists at most (the count is in the message). */
  maxFilesPerReason?: number;
}

/** Classifies a change. Never throws for content; rules are compiled by compileRules. */
export function classify(files: readonly ChangedFile[], rules: CompiledRules, opts: ClassifyOptions = {}): Classification {
  const fired = new Map<string, { level: Level; files: string[]; notes: string[] }>();
  const fire = (rule: string, level: Level | undefined, file: string | null, note?: string) => {
    if (level === undefined) return; // removed by configuration
    let r = fired.get(rule);
    if (!r) fired.set(rule, (r = { level, files: [], notes: [] }));
    if (file !== null && r.files[r.files.length - 1] !== file) r.files.push(file);
    if (note && r.notes.length < 5 && !r.notes.includes(note)) r.notes.push(note);
  };
  const L = rules.logic;
  const netAdded = netLines(files, 'added');
  const netRemoved = netLines(files, 'removed');
  const stats = { files: files.length, additions: 0, deletions: 0, renames: 0 };
  let reviewable = 0;
  const lockDirs = new Set<string>();
  for (const f of files) if (LOCKFILES.has(basename(f.path)) && f.status !== 'deleted') lockDirs.add(dirname(f.path));
  const depChanges: { file: string; selfLocked: boolean; added: Set<string>; removed: Set<string>; unknown: boolean }[] = [];
  const newSource: string[] = [];

  for (const f of files) {
    stats.additions += f.additions;
    stats.deletions += f.deletions;
    if (f.status === 'renamed') stats.renames++;
    const base = basename(f.path);
    const isLock = LOCKFILES.has(base);
    if (!isLock && !f.binary) reviewable += f.additions + f.deletions;
    const names = f.old_path && f.old_path !== f.path ? [f.path, f.old_path] : [f.path];
    let covered = false;

    if (f.symlink || f.was_symlink) {
      fire('symlink', L.get('symlink'), f.path, `${f.path} ${f.status === 'deleted' ? 'removed' : f.symlink ? 'is a symlink' : 'was a symlink'}`);
      covered = true;
    }
    for (const r of rules.pathRules) {
      if (names.some((n) => r.paths?.test(n) && !r.exclude?.test(n))) {
        fire(r.id, r.level, f.path);
        covered = true;
      }
    }
    if (isLock) {
      covered = true;
    }
    const manifest = manifestOf(base);
    if (manifest && f.status !== 'deleted') {
      covered = true;
      const added = new Set<string>();
      const removed = new Set<string>();
      let otherLines = 0;
      for (const l of netAdded.get(f) ?? []) {
        const d = manifest.parse(l);
        if (d) added.add(d);
        else if (/[\w]/.test(l)) otherLines++;
      }
      for (const l of netRemoved.get(f) ?? []) {
        const d = manifest.parse(l);
        if (d) removed.add(d);
        else if (/[\w]/.test(l)) otherLines++;
      }
      depChanges.push({ file: f.path, selfLocked: manifest.selfLocked === true, added, removed, unknown: f.added === undefined });
      if (otherLines > 0) fire('other', L.get('other'), f.path, `${f.path}: changes outside the dependency lists`);
    }
    if (f.binary) {
      if (!covered) fire('binary', L.get('binary'), f.path);
      continue;
    }
    if ((f.status === 'renamed' || f.status === 'copied') && f.additions === 0 && f.deletions === 0) {
      if (!covered) fire('rename_only', L.get('rename_only'), f.path, `${f.old_path} → ${f.path}`);
      continue;
    }
    const add = f.added;
    const rem = f.removed;
    if (add && rem && add.length + rem.length > 0 && squash(add.join('')) === squash(rem.join(''))) {
      fire('whitespace_only', L.get('whitespace_only'), f.path);
      continue;
    }
    if (f.status === 'added' && rules.source.test(f.path) && !rules.tests.test(f.path)) newSource.push(f.path);
    const na = netAdded.get(f);
    const nr = netRemoved.get(f);
    for (const r of rules.contentRules) {
      if (r.paths && !names.some((n) => r.paths?.test(n))) continue;
      if (r.exclude && names.some((n) => r.exclude?.test(n))) continue;
      const hitA = r.pattern && na?.find((l) => r.pattern?.test(l));
      const hitR = r.removed && nr?.find((l) => r.removed?.test(l));
      const hit = hitA || hitR;
      if (hit) {
        fire(r.id, r.level, f.path, `${f.path}: ${hit.trim().slice(0, 80)}`);
        covered = true;
      }
    }
    if (!covered && f.status !== 'deleted') fire('other', L.get('other'), f.path);
    else if (!covered) fire('other', L.get('other'), f.path, `${f.path} deleted`);
  }

  // Dependencies: a bump with its lockfile is Ship; a new one, or any change without a lockfile, is Ask.
  for (const d of depChanges) {
    const locked = d.selfLocked || lockDirs.size > 0; // a monorepo's manifest may sit below its one lockfile
    const bumped = [...d.added].filter((n) => d.removed.has(n));
    const fresh = [...d.added].filter((n) => !d.removed.has(n));
    const dropped = [...d.removed].filter((n) => !d.added.has(n));
    for (const n of fresh) fire('new_dependency', L.get('new_dependency'), d.file, `new dependency ${n} in ${d.file}`);
    for (const n of dropped) fire('removed_dependency', L.get('removed_dependency'), d.file, `${n} removed from ${d.file}`);
    if (bumped.length || d.unknown) {
      if (locked) fire('dependency_bump', L.get('dependency_bump'), d.file, bumped.length ? `${bumped.slice(0, 5).join(', ')} bumped in ${d.file}` : undefined);
      else fire('lockfile_missing', L.get('lockfile_missing'), d.file, `${d.file} changed without its lockfile`);
    } else if (fresh.length && !locked) fire('lockfile_missing', L.get('lockfile_missing'), d.file, `${d.file} changed without its lockfile`);
  }
  if (depChanges.length === 0) for (const f of files) if (LOCKFILES.has(basename(f.path))) fire('lockfile', L.get('lockfile'), f.path);

  if (reviewable > rules.maxLines) fire('size', L.get('size'), null, `${reviewable} changed lines (lockfiles and binaries not counted) > ${rules.maxLines}`);

  let level: Level = 'ship';
  for (const r of fired.values()) level = maxLevel(level, r.level);

  // Intent: stated by the caller, checked against the diff. The diff always wins.
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
  return { level, action: ACTIONS[level], reasons, stats };
}
