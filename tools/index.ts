import type { AnyTool } from '../src/tool.js';
import { planMega } from './plan_mega.js';
import { claimPhase } from './claim_phase.js';
import { heartbeat } from './heartbeat.js';
import { completePhase } from './complete_phase.js';
import { releasePhase } from './release_phase.js';
import { board } from './board.js';
import { classifyChangeTool } from './classify_change.js';

/** Every tool the server offers, in the order tools/list shows them. */
export const ALL_TOOLS: readonly AnyTool[] = [planMega, claimPhase, heartbeat, completePhase, releasePhase, board, classifyChangeTool];
