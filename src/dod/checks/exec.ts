/** What the command checks share: running a component's command and reading its outcome. */
import path from 'node:path';
import type { RunResult } from '../../integrations/run.js';
import { clipDetail, configSkip, secs, type Verdict } from '../domain.js';
import type { CommandCheck, Component } from '../components.js';
import type { Run } from './check.js';

/** The component's command for a check, or the verdict when it has none: skipped by config (false) or missing. */
export function commandOf(c: Component, check: CommandCheck): string[] | Verdict {
  const spec = c.commands[check];
  if (spec === false) return configSkip(`does not apply (${c.where}.commands.${check} is false)`);
  if (!spec) {
    return { status: 'error', detail: `no ${check} command${c.detected ? ` detected (${c.detail})` : ''}: set ${c.where}.commands.${check} (false if it does not apply)` };
  }
  return spec;
}

/** The component's working directory in a checkout. */
export const cwdOf = (c: Component, top: string): string => path.resolve(top, c.dir);

/** A command's outcome as a verdict when it did not simply run to an exit code. */
export function broken(r: RunResult, c: Component, check: CommandCheck): Verdict | null {
  const cmd = r.command.join(' ');
  if (r.spawnError) {
    return /ENOENT/.test(r.spawnError)
      ? { status: 'error', detail: `command not found: ${r.command[0]} (from ${c.where}.commands.${check}): install it or fix the config` }
      : { status: 'error', detail: clipDetail(`could not start ${cmd}: ${r.spawnError}`) };
  }
  if (r.cancelled) return { status: 'error', detail: `cancelled: ${cmd}` };
  if (r.timedOut) return { status: 'error', detail: `timed out after ${secs(c.timeoutMs)} and was stopped: ${cmd}` };
  return null;
}

/** Said after a detail when the output was cut at dod.max_output_bytes. */
export const capped = (run: Run, r: RunResult): string => (r.truncated ? ` (output capped at ${run.config.dod.max_output_bytes} bytes)` : '');
