import type { AnyTool } from '../src/mcp/tool.js';
import { planMega } from './plan_mega.js';
import { claimPhase } from './claim_phase.js';
import { heartbeat } from './heartbeat.js';
import { completePhase } from './complete_phase.js';
import { mergePhaseTool } from './merge_phase.js';
import { releasePhase } from './release_phase.js';
import { board } from './board.js';
import { runCouncilTool } from './run_council.js';
import { syncPlanTool } from './sync_plan.js';
import { sessionStart } from './session_start.js';
import { sessionEnd } from './session_end.js';
import { checkpoint } from './checkpoint.js';
import { memory } from './memory.js';
import { logOperation } from './log_operation.js';
import { recordUsage } from './record_usage.js';
import { checkDodTool } from './check_dod.js';
import { classifyChangeTool } from './classify_change.js';

/** Every tool the server offers, in the order tools/list shows them. */
export const ALL_TOOLS: readonly AnyTool[] = [
  sessionStart,
  planMega,
  claimPhase,
  heartbeat,
  checkpoint,
  completePhase,
  mergePhaseTool,
  releasePhase,
  board,
  memory,
  logOperation,
  recordUsage,
  sessionEnd,
  runCouncilTool,
  syncPlanTool,
  classifyChangeTool,
  checkDodTool,
];
