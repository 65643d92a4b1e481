/**
 * The dependency manifests and lockfiles the changes classifier understands. Pure: a manifest is
 * recognised by its file name and reads one changed line at a time, saying which dependency the
 * line names (or null for any other line). The parsers run on RE2, so no line makes them
 * backtrack. Adding an ecosystem: a parser here, its manifest name in MANIFESTS, its lockfile in
 * LOCKFILES (docs/changes.md, "Adding a rule").
 */
import { RE2JS } from 're2js';

const LOCKFILES = new Set([
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lockb',
  'bun.lock',
  'Cargo.lock',
  'go.sum',
  'Gemfile.lock',
  'composer.lock',
  'poetry.lock',
  'Pipfile.lock',
  'uv.lock',
  'pdm.lock',
  'mix.lock',
  'pubspec.lock',
  'packages.lock.json',
]);
const NOT_DEPS = new Set([
  'name',
  'version',
  'description',
  'license',
  'edition',
  'authors',
  'readme',
  'homepage',
  'repository',
  'python',
  'requires-python',
  'rust-version',
  'node',
  'npm',
  'yarn',
  'pnpm',
  'go',
  'toolchain',
  'main',
  'module',
  'types',
  'type',
  'private',
  'packageManager',
]);
const VERSIONISH = /^(?:[\^~<>=*]|\d|v\d|x\b|latest|next|npm:|workspace:|file:|link:|git[+:]|github:|https?:)/;

/** Reads one changed line of a manifest: the name of the dependency it declares, or null. */
export type DepParser = (line: string) => string | null;
/** A manifest kind: its parser, and whether it pins exact versions (then it is its own lockfile). */
export interface Manifest {
  parse: DepParser;
  selfLocked?: boolean;
}

/**
 * RE2 for the manifest lines too (`\s*,?\s*$` backtracks quadratically on a long run of spaces); exec only after the DFA's test.
 * Compiled on first use, not when the module loads: every server start imports this, few classify a manifest.
 */
const re2 = (src: string): { exec(l: string): (string | undefined)[] | null } => {
  let r: RE2JS | undefined;
  return {
    exec: (l) => {
      r ??= RE2JS.compile(src);
      return r.test(l) ? (r.exec(l) as (string | undefined)[] | null) : null;
    },
  };
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
/** The manifests known by exact file name. */
export const MANIFESTS: Readonly<Record<string, Manifest>> = {
  'package.json': { parse: jsonDep },
  'composer.json': { parse: jsonDep },
  'Cargo.toml': { parse: tomlDep },
  'pyproject.toml': { parse: tomlDep },
  Pipfile: { parse: tomlDep },
  'go.mod': { parse: (l) => GO_DEP.exec(l)?.[1] ?? null },
  Gemfile: { parse: (l) => GEM_DEP.exec(l)?.[1] ?? null },
};
const MANIFEST_BY_NAME = new Map<string, Manifest>(Object.entries(MANIFESTS));
/** requirements*.txt pins exact versions: it is its own lockfile. */
const REQUIREMENTS: Manifest = { selfLocked: true, parse: (l) => REQ_DEP.exec(REQ_COMMENT.exec(l)?.[1] ?? l)?.[1]?.toLowerCase() ?? null };

/** Whether a file name (no directory) is a lockfile. */
export const isLockfile = (base: string): boolean => LOCKFILES.has(base);

/** The manifest a file name (no directory) is, or null. */
export function manifestOf(base: string): Manifest | null {
  return MANIFEST_BY_NAME.get(base) ?? (base.startsWith('requirements') && /^requirements.*\.(?:txt|in)$/.test(base) ? REQUIREMENTS : null);
}
