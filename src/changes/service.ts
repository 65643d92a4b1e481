import { type ClassifyChangeArgs, type ClassifyChangeResult } from '../../schemas/changes.js';
import { InputError } from '../core/errors.js';
import { DiffParseError, parseUnifiedDiff } from './diff.js';
import { compileRules, type ChangedFile } from './rules.js';
import { Classifier, classifyAsync, type Classification } from './classifier.js';
import { gitChanges } from './git.js';
import { checkoutOf } from '../integrations/checkouts.js';
import type { ServiceContext } from '../core/context.js';
import { gateWeakenings } from '../core/config.js';
import { phaseKey } from '../core/ids.js';
import { publishGates } from '../governance/statuses.js';

/** What classifying reads: the one context; with a store and a session, a classification given mega+phase+token is stored with the phase. */
type ClassifyContext = Pick<ServiceContext, 'root' | 'config' | 'clock' | 'env'> & Partial<Pick<ServiceContext, 'store' | 'session'>>;

/** Where the change comes from: a git range, a file list or a unified diff. Exactly one. */
function sourceOf(input: ClassifyChangeArgs): 'git' | 'files' | 'diff' {
  const given = (['files', 'diff'] as const).filter((k) => input[k] !== undefined);
  const git = (['cwd', 'base', 'head'] as const).find((k) => input[k] !== undefined);
  if (given.length > 1) throw new InputError(given[1] as string, 'give only one of: a git range (cwd, base, head), files, or diff');
  if (given.length === 1 && git) throw new InputError(given[0] as string, `give only one of: a git range (cwd, base, head), files, or diff (${git} was given too)`);
  return given[0] ?? 'git';
}

function filesFromList(list: NonNullable<ClassifyChangeArgs['files']>): ChangedFile[] {
  const seen = new Set<string>();
  return list.map((f, i) => {
    if (seen.has(f.path)) throw new InputError(`files[${i}].path`, `${JSON.stringify(f.path)} is listed twice`);
    seen.add(f.path);
    const status = f.status ?? (f.old_path ? 'renamed' : 'modified');
    if ((status === 'renamed' || status === 'copied') && !f.old_path) throw new InputError(`files[${i}].old_path`, `required for a ${status} file`);
    return { path: f.path, old_path: f.old_path, status, additions: f.additions, deletions: f.deletions, binary: false, symlink: false };
  });
}

const MAX_DIFF = 50 * 1024 * 1024;
const MAX_FILES = 200_000;
const MAX_LINES_PER_FILE = 1_000_000_000;

/** The limits the lean tool schema leaves out: revisions that cannot be options, sane sizes, whole counts. */
function checkArgs(input: ClassifyChangeArgs): void {
  for (const k of ['base', 'head'] as const) {
    const rev = input[k];
    // Control characters (a NUL byte above all) would reach git's argv, where Node refuses them.
    if (rev !== undefined && !/^[^-\s\p{C}][^\s\p{C}]{0,255}$/u.test(rev))
      throw new InputError(k, 'a revision (branch, tag, sha, HEAD~1): no spaces or control characters, not starting with "-", at most 256 characters');
  }
  if (input.cwd !== undefined && (input.cwd.length === 0 || input.cwd.length > 4096 || input.cwd.includes('\0')))
    throw new InputError('cwd', 'a directory path of 1 to 4096 characters, without NUL bytes');
  if (input.diff !== undefined && input.diff.length > MAX_DIFF) throw new InputError('diff', `larger than ${MAX_DIFF} characters: classify the git range instead`);
  if (input.files !== undefined) {
    if (input.files.length === 0 || input.files.length > MAX_FILES) throw new InputError('files', `1 to ${MAX_FILES} files`);
    for (const [i, f] of input.files.entries()) {
      // Bounded so that the totals over MAX_FILES files stay exact integers (1e308 + 1e308 is Infinity, stored as null).
      for (const k of ['additions', 'deletions'] as const)
        if (!Number.isInteger(f[k]) || f[k] > MAX_LINES_PER_FILE) throw new InputError(`files[${i}].${k}`, `a whole number of lines, at most ${MAX_LINES_PER_FILE}`);
    }
  }
}

/** Classifies a change as Ship / Show / Ask. The MCP tool and the CLI both call this. */
export async function classifyChange(ctx: ClassifyContext, input: ClassifyChangeArgs): Promise<ClassifyChangeResult> {
  checkArgs(input);
  const source = sourceOf(input);
  const at = (
    [
      ['mega', input.mega],
      ['phase', input.phase],
      ['token', input.token],
    ] as const
  ).filter(([, v]) => v !== undefined);
  if (at.length > 0 && at.length < 3) {
    const missing = ['mega', 'phase', 'token'].filter((k) => !at.some(([n]) => n === k));
    throw new InputError(missing[0] as string, 'mega, phase and token go together (to store the classification with your claimed phase)');
  }
  if (at.length === 3 && (!ctx.store || !ctx.session)) throw new InputError('token', 'storing a classification needs the server (not available here)');

  const rules = compileRules(ctx.config.changes);
  let c: Classification;
  let base: string | undefined;
  let head: string | null | undefined;
  let cwdDir: string | undefined;
  if (source === 'diff') {
    let files: ChangedFile[];
    try {
      files = parseUnifiedDiff(input.diff as string);
    } catch (e) {
      if (e instanceof DiffParseError) throw new InputError('diff', `malformed unified diff: ${e.message}`);
      throw e;
    }
    c = await classifyAsync(files, rules, { intent: input.intent });
  } else if (source === 'files') c = await classifyAsync(filesFromList(input.files ?? []), rules, { intent: input.intent });
  else {
    // Files are classified as git streams them, so the rules run while git still diffs (in order, pausing for the event loop).
    const classifier = new Classifier(rules, { intent: input.intent });
    let queue = Promise.resolve();
    cwdDir = (await checkoutOf(ctx.root, input.cwd)).dir;
    const g = await gitChanges(cwdDir, { base: input.base, head: input.head }, (f) => {
      queue = queue.then(() => classifier.addAsync(f));
    }).catch(async (e: unknown) => {
      await queue.catch(() => {}); // git's error is the one to report; never leave the queue's unhandled
      throw e;
    });
    await queue;
    c = await classifier.finishAsync();
    base = g.base;
    head = g.head;
  }

  const weakened = gateWeakenings(ctx.config).filter((w) => w.startsWith('changes.'));
  const out: ClassifyChangeResult = { ...c, ...(base !== undefined ? { base, head } : {}), message: `${summary(c)}${weakened.length ? ` — config weakens gates: ${weakened.join('; ')}` : ''}` };
  if (at.length === 3 && ctx.store && ctx.session) {
    const r = await ctx.store.changes.record(
      await ctx.session.ensureInstance(),
      { mega: input.mega as string, phase: input.phase as string | number, token: input.token as string },
      c,
      { intent: input.intent, base, head },
      ctx.clock(),
    );
    if (r.stored) {
      out.stored = true;
      out.message += `; stored with ${input.mega}/${input.phase}`;
      void publishGates(
        { store: ctx.store, config: ctx.config, root: ctx.root, clock: ctx.clock, env: ctx.env },
        { mega: input.mega as string, phase: phaseKey(input.phase as string | number), ...(input.cwd && cwdDir ? { cwd: cwdDir } : {}) },
      );
    } else {
      out.stored = false;
      out.reason = r.reason;
      out.message += `; not stored: ${r.message}`;
    }
  }
  return out;
}

function summary(c: Classification): string {
  const s = c.stats;
  return `${c.level.toUpperCase()} (${c.action}): ${s.files} file${s.files === 1 ? '' : 's'}, +${s.additions} -${s.deletions}${s.renames ? `, ${s.renames} renamed` : ''}`;
}

/** The verdict and its reasons as terminal lines (tool text and CLI). */
export function renderClassification(out: ClassifyChangeResult): string[] {
  const lines = [out.message];
  for (const r of out.reasons) lines.push(`  ${r.level.padEnd(4)}  ${r.rule.padEnd(18)} ${r.message}`);
  return lines;
}
