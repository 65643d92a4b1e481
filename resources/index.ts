import type { ResourceDef } from '../src/resource.js';
import { boardResource, megaResource } from './board.js';
import { dodResource } from './dod.js';

/** Every resource and resource template the server offers. */
export const ALL_RESOURCES: readonly ResourceDef[] = [boardResource, megaResource, dodResource];
