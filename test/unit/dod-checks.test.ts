import { describe, expect, it } from 'vitest';
import { DOD_CHECKS } from '../../schemas/dod.js';
import { CHECKS } from '../../src/dod/checks/index.js';

describe('the DoD checks registry (src/dod/checks/index.ts)', () => {
  it('decides each of DOD_CHECKS exactly once, listed in the order of the answer', () => {
    expect(CHECKS.flatMap((c) => c.ids)).toEqual([...DOD_CHECKS]);
  });

  it('runs the command checks per component and judges the working tree with them and no_secrets', () => {
    expect(CHECKS.filter((c) => c.per === 'component').flatMap((c) => c.ids)).toEqual(['compiles', 'tests', 'no_regressions', 'lint', 'format']);
    expect(CHECKS.filter((c) => c.per === 'repository' && c.tree).flatMap((c) => c.ids)).toEqual(['no_secrets']);
  });

  it("has the test run wait for the checks of the component's after list", () => {
    const tests = CHECKS.find((c) => c.ids.includes('tests'));
    expect(tests?.per === 'component' && tests.after?.({ after: ['compiles', 'lint'] } as never)).toEqual(['compiles', 'lint']);
  });
});
