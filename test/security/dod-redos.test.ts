/**
 * Issue 12, finding 3 in the DoD: test reports and lint output are written by the commands an
 * agent controls, and the warning pattern comes from a config it can edit. None of them may hold
 * the server's thread: the JUnit reader scans linearly and the warning pattern runs on RE2.
 * The sizes below take the old backtracking code well past the test timeout.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { lintWarnings, parseTestReport } from '../../src/dod/domain.js';

describe('DoD parsers on hostile input', () => {
  it('reads a JUnit report full of unclosed test cases in linear time, keeping the well-formed ones', () => {
    const xml = `<testsuite>${'<testcase name="open">'.repeat(150_000)}<testcase name="late" classname="s"/></testsuite>`;
    expect(xml.length).toBeGreaterThan(3_000_000);
    expect(parseTestReport(xml)).toEqual({ passed: ['s > late'], failed: [] });
    // As with the regex: a case runs to the first closing tag, and <testcases> is another element.
    expect(parseTestReport('<testcase name="a"><testcase name="b"></testcase><testcases/><testcase name="c"><failure/></testcase>')).toEqual({ passed: ['a'], failed: ['c'] });
  });

  it('runs the configured warning pattern on RE2: a catastrophic pattern on a long line is linear', () => {
    const output = `warn${' '.repeat(200_000)}x\nsrc/a.ts:1:1 warning no-unused-vars\n`;
    expect(lintWarnings(output, '(\\s+)+y')).toEqual([]);
    expect(lintWarnings(output, '\\bWARNING\\b')).toEqual(['src/a.ts warning no-unused-vars']);
  });

  it('refuses a warning pattern RE2 cannot run, naming the field', () => {
    const cfg = (pattern: string) => ({ dod: { components: [{ name: 'app', warning_pattern: pattern }] } });
    expect(() => parseConfig(cfg('(warn)\\1'))).toThrow(/dod\.components\[0\]\.warning_pattern: bad regular expression/);
    expect(() => parseConfig(cfg('warn(?=ing)'))).toThrow(/dod\.components\[0\]\.warning_pattern/);
    expect(() => parseConfig(cfg('\\bwarn(ing)?\\b'))).not.toThrow();
  });
});
