/**
 * Every DoD check, one module each. The run starts them in the order of DOD_CHECKS (schemas/dod.ts),
 * which is also the order of the answer; each id of DOD_CHECKS is decided by exactly one of these.
 * Adding a check: docs/dod.md, "Adding a check".
 */
import type { DodCheck } from './check.js';
import { compiles, format } from './commands.js';
import { tests } from './tests.js';
import { lint } from './lint.js';
import { secrets } from './no-secrets.js';
import { pullRequest } from './pr-and-ci.js';
import { evidence } from './evidence.js';

export const CHECKS: readonly DodCheck[] = [compiles, tests, lint, format, secrets, pullRequest, evidence];
