import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A tiny "TypeScript" repository for the DoD: plain Node scripts stand in for the compiler
 * (a toy type check of src/*.ts), the test runner (node --test writing JUnit XML), a linter
 * (warns on `var`) and a format check (trailing whitespace). Branch main is the baseline
 * (one existing lint warning); branch feature adds a change on top.
 */
export const SAMPLE_FILES: Record<string, string> = {
  '.gitignore': 'report.xml\nnode_modules\n',
  'package.json': JSON.stringify({ name: 'sample', private: true, scripts: { build: 'node build.js', test: 'node --test', lint: 'node lint.js', 'format:check': 'node fmt.js' } }, null, 2) + '\n',
  'build.js': `const fs = require('fs');
let errors = 0;
for (const f of fs.readdirSync('src').filter((f) => f.endsWith('.ts'))) {
  fs.readFileSync('src/' + f, 'utf8').split('\\n').forEach((l, i) => {
    if (/:\\s*number\\s*=\\s*['"]/.test(l)) { errors++; console.log('src/' + f + ':' + (i + 1) + ' - error TS2322: Type \\'string\\' is not assignable to type \\'number\\'.'); }
  });
}
if (errors) { console.log('Found ' + errors + ' error(s).'); process.exit(1); }
`,
  'lint.js': `const fs = require('fs');
for (const f of fs.readdirSync('src').filter((f) => f.endsWith('.js'))) {
  fs.readFileSync('src/' + f, 'utf8').split('\\n').forEach((l, i) => {
    if (/\\bvar\\s/.test(l)) console.log(process.cwd() + '/src/' + f + ':' + (i + 1) + ':1: warning no-var: Unexpected var, use let or const');
  });
}
`,
  'fmt.js': `const fs = require('fs');
let bad = 0;
for (const d of ['src', 'test']) for (const f of fs.readdirSync(d)) {
  if (fs.readFileSync(d + '/' + f, 'utf8').split('\\n').some((l) => /[ \\t]+$/.test(l))) { bad++; console.log(d + '/' + f + ': not formatted (trailing whitespace)'); }
}
process.exit(bad ? 1 : 0);
`,
  'src/types.ts': 'export const answer: number = 42;\n',
  'src/math.js': 'exports.add = (a, b) => a + b;\nexports.mul = (a, b) => a * b;\n',
  'src/legacy.js': 'var legacy = 1;\nmodule.exports = legacy;\n',
  'test/math.test.js': `const test = require('node:test');
const assert = require('node:assert');
const { add, mul } = require('../src/math.js');
test('add', () => assert.strictEqual(add(2, 3), 5));
test('mul', () => assert.strictEqual(mul(2, 3), 6));
`,
};

export const FEATURE_FILES: Record<string, string> = {
  'src/square.js': "const { mul } = require('./math.js');\nexports.square = (a) => mul(a, a);\n",
  'test/square.test.js':
    "const test = require('node:test');\nconst assert = require('node:assert');\nconst { square } = require('../src/square.js');\ntest('square', () => assert.strictEqual(square(4), 16));\n",
};

export function sampleConfig(node = process.execPath) {
  return {
    components: [
      {
        name: 'app',
        paths: ['src/**', 'test/**', '*.js'],
        commands: {
          compiles: [node, 'build.js'],
          tests: [node, '--test', '--test-reporter=junit', '--test-reporter-destination=report.xml'],
          lint: [node, 'lint.js'],
          format: [node, 'fmt.js'],
        },
        test_report: 'report.xml',
        timeout_seconds: 60,
      },
    ],
    required_checks: ['build', 'test', 'lint'],
  };
}

export function write(dir: string, files: Record<string, string>): void {
  for (const [f, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), content);
  }
}

export function sh(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
}

/** Builds the sample repository in a new temp dir, on branch feature; returns its path and HEAD. */
export function makeSampleRepo(): { dir: string; head: string } {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'factory-dod-sample-')));
  sh(dir, 'init', '-q', '-b', 'main');
  write(dir, SAMPLE_FILES);
  sh(dir, 'add', '-A');
  sh(dir, 'commit', '-q', '-m', 'base');
  sh(dir, 'remote', 'add', 'origin', 'https://github.com/acme/app.git');
  sh(dir, 'checkout', '-q', '-b', 'feature');
  write(dir, FEATURE_FILES);
  sh(dir, 'add', '-A');
  sh(dir, 'commit', '-q', '-m', 'feature: square');
  return { dir, head: sh(dir, 'rev-parse', 'HEAD').trim() };
}

/** Back to the committed feature branch: tracked edits undone, untracked files removed. */
export function resetSample(dir: string): void {
  sh(dir, 'checkout', '-q', '--', '.');
  sh(dir, 'clean', '-qfd');
}
