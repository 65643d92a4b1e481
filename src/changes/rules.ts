/**
 * Ship / Show / Ask: the rules of the changes feature, as data, and their compilation. Pure.
 * A rule is path globs and/or an RE2 pattern on added (or removed) lines (DEFAULT_RULES), or a
 * piece of the classifier's logic that configuration can only re-level or remove (LOGIC_RULES).
 * `compileRules` merges the configuration into the defaults once; the classifier
 * (classifier.ts) then costs O(files × rules) plus one pass over the changed lines. Content
 * patterns run on RE2 (re2js): linear time in the line's length whatever the pattern, so no diff
 * can make a rule backtrack. How to add a rule: docs/changes.md, "Adding a rule".
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

/** Levels in order: a higher rank wins. */
export const RANK: Record<Level, number> = { ship: 0, show: 1, ask: 2 };
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
  /** More counted lines than this: the `too_large` rule (tier xl). */
  max_lines?: number | undefined;
  /** The practice's smaller tiers: fewer lines than `s` is tier s, fewer than `m` tier m, up to max_lines tier l. */
  size_tiers?: { s: number; m: number } | undefined;
  /** Files whose lines do not count towards the size (lockfiles, build output). */
  size_exclude?: string[] | undefined;
  /** Longer added or removed lines are not inspected by content rules (nor dependency parsers). */
  max_line_length?: number | undefined;
  /** Characters of changed lines inspected per classification; the rest is not. */
  max_content_length?: number | undefined;
  rules?: RuleSpec[] | undefined;
  remove?: string[] | undefined;
}

// ------------------------------------------------------------------ default rules

const DOCS = ['*.{md,mdx,markdown,rst,adoc,txt}', 'docs/**', 'doc/**', '{LICENSE,LICENCE,NOTICE,AUTHORS,CONTRIBUTORS,CHANGELOG,CODEOWNERS}*'];
const TESTS = [
  'test/**',
  'tests/**',
  '__tests__/**',
  '**/__tests__/**',
  'spec/**',
  '**/test/**',
  '**/tests/**',
  '*.{test,spec}.*',
  '*_test.{go,py,rb}',
  'test_*.py',
  '**/fixtures/**',
  '**/__snapshots__/**',
];
const SOURCE = ['*.{ts,tsx,mts,cts,js,jsx,mjs,cjs,py,go,rs,java,kt,kts,rb,php,cs,c,h,cc,cpp,hpp,swift,scala,sh,vue,svelte}'];
const NOT_DOCS_OR_TESTS = [...DOCS, ...TESTS];

/** Rules that are data: globs and patterns. Configuration can override any field or remove them by id. */
export const DEFAULT_RULES: readonly RuleSpec[] = [
  { id: 'docs', level: 'ship', description: 'documentation and prose', paths: DOCS, exclude: ['requirements*.txt', 'CMakeLists.txt'] },
  {
    id: 'config',
    level: 'ship',
    description: 'editor, formatter and linter settings',
    paths: [
      '.editorconfig',
      '.gitignore',
      '.gitattributes',
      '.prettierrc*',
      '.prettierignore',
      '.eslintrc*',
      '.eslintignore',
      'eslint.config.*',
      '.markdownlint*',
      '.vscode/**',
      '.idea/**',
      'factory.config.json',
    ],
  },
  { id: 'tests', level: 'show', description: 'tests and fixtures', paths: TESTS },
  {
    id: 'migrations',
    level: 'ask',
    description: 'database migrations and SQL',
    paths: ['**/migrations/**', '**/migrate/**', '*migration*.*', '*.sql', '**/schema.prisma', '**/db/schema.*'],
    exclude: NOT_DOCS_OR_TESTS,
  },
  {
    id: 'auth',
    level: 'ask',
    description: 'authentication, sessions and permissions',
    paths: ['**/auth/**', '*{auth,login,logout,password,oauth,session,permission,rbac,acl}*'],
    exclude: NOT_DOCS_OR_TESTS,
  },
  {
    id: 'security',
    level: 'ask',
    description: 'security, crypto, secrets and certificates',
    paths: ['**/security/**', '**/crypto/**', '*{security,crypto,secret,credential,token}*', '*.{pem,key,crt,cer,p12,pfx,jks}', '.npmrc', '.env*'],
    exclude: NOT_DOCS_OR_TESTS,
  },
  {
    id: 'ci',
    level: 'ask',
    description: 'CI workflows and pipelines',
    paths: [
      '.github/workflows/**',
      '.github/actions/**',
      '.gitlab-ci.yml',
      '.circleci/**',
      'Jenkinsfile',
      'azure-pipelines.yml',
      '.buildkite/**',
      '.travis.yml',
      'bitbucket-pipelines.yml',
      '.husky/**',
    ],
  },
  {
    id: 'infrastructure',
    level: 'ask',
    description: 'containers, deployment and infrastructure as code',
    paths: [
      'Dockerfile*',
      '*.dockerfile',
      'docker-compose*.{yml,yaml}',
      'compose.{yml,yaml}',
      '*.{tf,tfvars,hcl}',
      '**/{infra,infrastructure,terraform,deploy,deployment,k8s,kubernetes,helm,ansible}/**',
      'Procfile',
      'fly.toml',
      'vercel.json',
      'netlify.toml',
      'serverless.{yml,yaml}',
    ],
  },
  {
    id: 'exported_api',
    level: 'ask',
    description: 'new exported API in source',
    paths: SOURCE,
    exclude: TESTS,
    pattern:
      '^\\s*export\\s+(?:default\\s+)?(?:async\\s+)?(?:function|class|const|let|var|interface|type|enum|abstract|namespace|\\{|\\*)|^\\s*(?:module\\.)?exports(?:\\.\\w+)?\\s*=|^pub\\s+(?:async\\s+)?(?:fn|struct|enum|trait|mod|type|const|static)\\b|^func\\s+(?:\\([^)]*\\)\\s*)?[A-Z]|^(?:async\\s+)?def\\s+[a-zA-Z]|^\\s*public\\s+(?:static\\s+)?(?:final\\s+)?(?:class|interface|enum|record|[\\w<>\\[\\]]+\\s+\\w+\\s*\\()|\\b(?:app|router|server)\\.(?:get|post|put|patch|delete|route|use)\\s*\\(|@(?:app|router)\\.(?:get|post|put|patch|delete|route)\\b|@(?:Get|Post|Put|Patch|Delete|RequestMapping)\\b',
  },
  {
    id: 'removed_api',
    level: 'ask',
    description: 'exported API removed from source',
    paths: SOURCE,
    exclude: TESTS,
    removed_pattern: '^\\s*export\\s+(?:default\\s+)?(?:async\\s+)?(?:function|class|const|let|var|interface|type|enum)\\s|^pub\\s+(?:fn|struct|enum|trait)\\b|^func\\s+(?:\\([^)]*\\)\\s*)?[A-Z]',
  },
  {
    id: 'raw_sql',
    level: 'ask',
    description: 'raw SQL in source',
    paths: SOURCE,
    exclude: TESTS,
    pattern:
      '\\b(?:SELECT\\s+[\\w*,.\\s"`]+\\s+FROM|INSERT\\s+(?:OR\\s+\\w+\\s+)?INTO|UPDATE\\s+[\\w"`.]+\\s+SET|DELETE\\s+FROM|CREATE\\s+(?:UNIQUE\\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)|ALTER\\s+TABLE|DROP\\s+(?:TABLE|INDEX|VIEW))\\b',
  },
  {
    id: 'eval',
    level: 'ask',
    description: 'dynamic code execution or shell commands',
    paths: SOURCE,
    exclude: TESTS,
    pattern:
      '(?:^|[^.\\w])eval\\s*\\(|\\bnew\\s+Function\\s*\\(|child_process|\\bexecSync\\s*\\(|\\bos\\.system\\s*\\(|\\bsubprocess\\.|\\bshell\\s*[:=]\\s*true|\\bdangerouslySetInnerHTML|\\binnerHTML\\s*=',
  },
  {
    id: 'secrets',
    level: 'ask',
    description: 'secret, token or credential handling',
    paths: SOURCE,
    exclude: TESTS,
    ignore_case: true,
    pattern: '\\b(?:password|passwd|secret|api[_-]?key|private[_-]?key|access[_-]?token|auth[_-]?token|credential|bearer)\\b|process\\.env\\.\\w*(?:TOKEN|KEY|SECRET|PASSWORD)',
  },
  {
    id: 'permissions',
    level: 'ask',
    description: 'permission, role or file-mode handling',
    paths: SOURCE,
    exclude: TESTS,
    pattern: '\\b(?:chmod|chown|setuid|sudo|isAdmin|is_admin|hasPermission|has_permission|authorize|grant|revoke)\\b|\\brole\\s*[=!]==?',
  },
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
  too_large: { level: 'ask', description: 'more changed lines than max_lines: split the change' },
  other: { level: 'show', description: 'changed files no other rule covers' },
  intent: { level: 'show', description: 'the stated intent and the diff disagree (the diff wins)' },
};

export const DEFAULT_MAX_LINES = 300;
/** The PR size tiers of the practice: under 50, under 150, up to 300 (max_lines), over it. */
export const SIZE_TIERS = ['s', 'm', 'l', 'xl'] as const;
export type SizeTier = (typeof SIZE_TIERS)[number];
export const DEFAULT_SIZE_TIERS = { s: 50, m: 150 } as const;
/** Not counted towards the size: lockfiles and build output (generated, not reviewed line by line). */
export const DEFAULT_SIZE_EXCLUDE: readonly string[] = ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', '*.lock', 'go.sum', 'dist/**', '*.min.{js,css}', '*.map'];
export const DEFAULT_MAX_LINE_LENGTH = 4096;
export const DEFAULT_MAX_CONTENT_LENGTH = 16 * 1024 * 1024;

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

export interface CompiledRule {
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
  sizeTiers: { s: number; m: number };
  /** Matcher slot of the files not counted towards the size, or -1. */
  sizeExclude: number;
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

/** A rule spec with, when the configuration added or overrode it, its index in `rules[]` (errors name that place). */
type Configured = RuleSpec & { index?: number };

/** Compiles the default rules with the configuration's additions, overrides and removals. Throws RuleError. */
export function compileRules(cfg: RulesConfig = {}, engine: PatternEngine = re2Engine): CompiledRules {
  let cache = caches.get(engine);
  if (!cache) caches.set(engine, (cache = new WeakMap()));
  const hit = cache.get(cfg);
  if (hit) return hit;
  const { specs, logic } = mergeConfig(cfg);
  const out = new RuleCompiler(cfg, logic).compile(specs.values(), engine);
  cache.set(cfg, out);
  return out;
}

/** The rules a configuration asks for: the defaults, minus `remove`, with `rules[]` added or overriding by id. */
function mergeConfig(cfg: RulesConfig): { specs: Map<string, Configured>; logic: Map<string, Level> } {
  const specs = new Map<string, Configured>(DEFAULT_RULES.map((r) => [r.id, { ...r }]));
  const logic = new Map<string, Level>(Object.entries(LOGIC_RULES).map(([id, r]) => [id, r.level]));
  for (const [i, r] of (cfg.remove ?? []).entries()) {
    if (!specs.delete(r) && !logic.delete(r)) throw new RuleError(['remove', i], `no rule with id ${JSON.stringify(r)} to remove`);
  }
  for (const [i, r] of (cfg.rules ?? []).entries()) {
    if (logic.has(r.id) || Object.hasOwn(LOGIC_RULES, r.id)) relevelLogic(logic, r, i);
    else specs.set(r.id, mergeRule(specs.get(r.id), r, i));
  }
  return { specs, logic };
}

/** A logic rule in `rules[i]`: only its level can change. */
function relevelLogic(logic: Map<string, Level>, r: RuleSpec, i: number): void {
  const extra = (['paths', 'exclude', 'pattern', 'removed_pattern'] as const).find((k) => r[k] !== undefined);
  if (extra) throw new RuleError(['rules', i, extra], `rule ${r.id} is built-in logic: only its level can be changed`);
  if (r.level) logic.set(r.id, r.level);
}

/** `rules[i]` over the built-in rule of the same id, if any: the fields it gives win; the result needs a level and something to match. */
function mergeRule(base: Configured | undefined, r: RuleSpec, i: number): Configured & { index: number } {
  const merged = { ...base, ...Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)), index: i } as RuleSpec & { index: number };
  if (!merged.level) throw new RuleError(['rules', i, 'level'], `new rule ${r.id} needs a level (ship, show or ask)`);
  if (!merged.paths && !merged.pattern && !merged.removed_pattern) throw new RuleError(['rules', i], `rule ${r.id} needs paths, pattern or removed_pattern`);
  return merged;
}

/** Builds CompiledRules: one matcher per distinct glob list, one pattern list per side. */
class RuleCompiler {
  private readonly slots = new Map<string, number>();
  private readonly patterns: Record<'added' | 'removed', Pattern[]> = { added: [], removed: [] };
  private readonly out: CompiledRules;

  constructor(
    private readonly cfg: RulesConfig,
    logic: Map<string, Level>,
  ) {
    this.out = {
      pathRules: [],
      contentRules: [],
      logic,
      maxLines: cfg.max_lines ?? DEFAULT_MAX_LINES,
      sizeTiers: cfg.size_tiers ?? DEFAULT_SIZE_TIERS,
      sizeExclude: -1,
      matchers: [],
      source: -1,
      tests: -1,
      added: null,
      removed: null,
      maxLineLength: cfg.max_line_length ?? DEFAULT_MAX_LINE_LENGTH,
      maxContentLength: cfg.max_content_length ?? DEFAULT_MAX_CONTENT_LENGTH,
    };
  }

  compile(specs: Iterable<Configured>, engine: PatternEngine): CompiledRules {
    const out = this.out;
    out.source = this.globs(SOURCE, ['source']);
    out.tests = this.globs(TESTS, ['tests']);
    const exclude = this.cfg.size_exclude ?? DEFAULT_SIZE_EXCLUDE;
    if (exclude.length) out.sizeExclude = this.globs([...exclude], ['size_exclude']);
    const { s, m } = out.sizeTiers;
    if (!(s < m)) throw new RuleError(['size_tiers', 'm'], `size_tiers.m (${m}) must be more than size_tiers.s (${s})`);
    for (const s of specs) {
      const c = this.rule(s);
      (c.pattern >= 0 || c.removed >= 0 ? out.contentRules : out.pathRules).push(c);
    }
    // Built on the first line inspected: a server that never classifies (or checks its config at
    // start-up) does not pay for the RE2 set.
    const lazy = (list: Pattern[]): PatternSet => {
      let set: PatternSet | null = null;
      return { match: (line) => (set ??= engine(list)).match(line) };
    };
    if (this.patterns.added.length) out.added = lazy(this.patterns.added);
    if (this.patterns.removed.length) out.removed = lazy(this.patterns.removed);
    return out;
  }

  private rule(s: Configured): CompiledRule {
    const configured = s.index !== undefined;
    const at = (field: string) => (s.index === undefined ? [s.id, field] : ['rules', s.index, field]);
    return {
      id: s.id,
      level: s.level as Level,
      description: s.description ?? s.id,
      paths: s.paths ? this.globs(s.paths, at('paths')) : -1,
      exclude: s.exclude?.length ? this.globs(s.exclude, at('exclude')) : -1,
      pattern: this.pattern('added', s.pattern, s.ignore_case, s.id, at('pattern'), configured),
      removed: this.pattern('removed', s.removed_pattern, s.ignore_case, s.id, at('removed_pattern'), configured),
    };
  }

  /** The matcher slot of a glob list (rules sharing a list share one matcher). */
  private globs(list: string[], at: (string | number)[]): number {
    const key = list.join('\n');
    const known = this.slots.get(key);
    if (known !== undefined) return known;
    for (const [j, g] of list.entries()) {
      try {
        globSource(g);
      } catch (e) {
        throw new RuleError([...at, j], `bad glob ${JSON.stringify(g)}: ${(e as GlobError).message}`);
      }
    }
    const matchers = this.out.matchers;
    matchers.push(compileGlobs(list));
    this.slots.set(key, matchers.length - 1);
    return matchers.length - 1;
  }

  /** The index of a content pattern on its side, or -1 for none. */
  private pattern(side: 'added' | 'removed', src: string | undefined, ignoreCase: boolean | undefined, id: string, at: (string | number)[], configured: boolean): number {
    if (!src) return -1;
    if (configured) checkPattern(src, id, at); // the built-in patterns are RE2 already (test/unit/changes.test.ts compiles them)
    return this.patterns[side].push({ source: src, ignoreCase: ignoreCase === true }) - 1;
  }
}

/** A pattern RE2 cannot compile (backreferences, lookaround, bad syntax) is an error naming the rule. */
function checkPattern(src: string, id: string, at: (string | number)[]): void {
  try {
    RE2JS.compile(src);
  } catch (e) {
    throw new RuleError(at, `bad regular expression in rule ${id}: ${(e as Error).message} (RE2 syntax, linear time: no backreferences or lookaround)`);
  }
}
