/** `npm run bench`: every benchmark, each printing ratios to its floor measured in the same run. */
import { benchPhases } from './phases.js';

const quick = process.argv.includes('--quick');
console.log('## phases');
console.log((await benchPhases({ quick })).lines.join('\n'));
