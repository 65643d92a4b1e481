import type { ResourceDef } from '../src/mcp/resource.js';
import { boardResource, megaResource } from './board.js';
import { councilResource } from './council.js';
import { memoryResource, operationsResource, planResource } from './sessions.js';
import { dodResource } from './dod.js';
import { changesResource } from './changes.js';

/** Every resource and resource template the server offers. */
export const ALL_RESOURCES: readonly ResourceDef[] = [boardResource, megaResource, memoryResource, planResource, operationsResource, councilResource, changesResource, dodResource];
