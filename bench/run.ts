/** `npm run bench`: every benchmark, each printing ratios to its floor measured in the same run. */
import { benchPhases } from './phases.js';
import { benchHttp } from './http.js';

const quick = process.argv.includes('--quick');
console.log('## phases');
console.log((await benchPhases({ quick })).lines.join('\n'));
console.log('\n## http');
console.log((await benchHttp({ quick })).lines.join('\n'));
