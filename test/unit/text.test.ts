import { describe, expect, it } from 'vitest';
import { clip } from '../../src/core/text.js';

describe('clip', () => {
  it('keeps text that fits and cuts the rest to max characters, the last an ellipsis', () => {
    expect(clip('abc', 3)).toBe('abc');
    expect(clip('abcd', 3)).toBe('ab…');
    expect(clip('', 1)).toBe('');
  });
});
