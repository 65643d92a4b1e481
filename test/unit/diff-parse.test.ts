import { describe, expect, it } from 'vitest';
import { DiffParseError, DiffStream, MAX_KEPT_LINES, parseUnifiedDiff, unquotePath } from '../../src/changes/diff.js';

const GIT_DIFF = `diff --git a/src/a.ts b/src/a.ts
index 1111111..2222222 100644
--- a/src/a.ts
+++ b/src/a.ts
@@ -1,3 +1,3 @@
 const a = 1;
-const b = 2;
+const b = 3;
 const c = 4;
diff --git a/docs/new guide.md b/docs/new guide.md
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/docs/new guide.md\t
@@ -0,0 +1,2 @@
+# Guide
+text
\\ No newline at end of file
diff --git a/old.ts b/new.ts
similarity index 100%
rename from old.ts
rename to new.ts
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index 4444444..0000000
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..5555555
Binary files /dev/null and b/logo.png differ
diff --git a/current b/current
new file mode 120000
index 0000000..6666666
--- /dev/null
+++ b/current
@@ -0,0 +1 @@
+releases/v2
\\ No newline at end of file
`;

describe('parseUnifiedDiff', () => {
  it('reads status, paths (with spaces), counts, lines, renames, deletions, binaries and symlinks', () => {
    const files = parseUnifiedDiff(GIT_DIFF);
    expect(files.map((f) => [f.path, f.status, f.additions, f.deletions])).toEqual([
      ['src/a.ts', 'modified', 1, 1],
      ['docs/new guide.md', 'added', 2, 0],
      ['new.ts', 'renamed', 0, 0],
      ['gone.txt', 'deleted', 0, 1],
      ['logo.png', 'added', 0, 0],
      ['current', 'added', 1, 0],
    ]);
    expect(files[0]).toMatchObject({ added: ['const b = 3;'], removed: ['const b = 2;'] });
    expect(files[2]).toMatchObject({ old_path: 'old.ts' });
    expect(files[4]?.binary).toBe(true);
    expect(files[5]?.symlink).toBe(true);
  });

  it('reads plain diff -u output (no git header), stripping one directory', () => {
    const files = parseUnifiedDiff('--- old/README.md\t2026-01-01 00:00:00\n+++ new/README.md\t2026-01-02 00:00:00\n@@ -1 +1,2 @@\n hello\n+world\n');
    expect(files).toEqual([expect.objectContaining({ path: 'README.md', status: 'modified', additions: 1, deletions: 0, added: ['world'] })]);
  });

  it('reads a type change (file to symlink) as one file', () => {
    const d = 'diff --git a/l b/l\ndeleted file mode 100644\n--- a/l\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\ndiff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+target\n';
    expect(parseUnifiedDiff(d)).toEqual([expect.objectContaining({ path: 'l', status: 'type_changed', symlink: true, additions: 1, deletions: 1 })]);
  });

  it('rejects malformed diffs, naming the line', () => {
    expect(() => parseUnifiedDiff('just some text\n')).toThrow(/no file sections found/);
    expect(() => parseUnifiedDiff('--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n')).toThrow(/diff ends inside a hunk/);
    expect(() => parseUnifiedDiff('--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\ngarbage\n')).toThrow(/line 5: hunk ends early/);
    expect(() => parseUnifiedDiff('--- a/x\n+++ b/x\n@@ nonsense @@\n')).toThrow(DiffParseError);
  });

  it('unquotes C-style quoted names', () => {
    expect(unquotePath('"a/tab\\there"')).toBe('a/tab\there');
    expect(unquotePath('"caf\\303\\251.md"')).toBe('café.md');
    expect(unquotePath('plain')).toBe('plain');
  });
});

describe('DiffStream (git diff -U0 as it streams)', () => {
  const OUT =
    'diff --git a/docs/ä b.md b/docs/ä b.md\nindex 1..2 100644\n--- a/docs/ä b.md\t\n+++ b/docs/ä b.md\t\n@@ -1 +1,2 @@\n-x\n+y\n+z\n' +
    'diff --git "a/tab\\there.ts" "b/tab\\there.ts"\nnew file mode 100644\nindex 0..3\n--- /dev/null\n+++ "b/tab\\there.ts"\n@@ -0,0 +1 @@\n+export const a = 1;\n' +
    'diff --git a/old name.md b/new name.md\nsimilarity index 100%\nrename from old name.md\nrename to new name.md\n' +
    'diff --git a/link b/link\ndeleted file mode 120000\n--- a/link\n+++ /dev/null\n@@ -1 +0,0 @@\n-target\n\\ No newline at end of file\n' +
    'diff --git a/link b/link\nnew file mode 100644\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+content\n' +
    'diff --git a/img.png b/img.png\nnew file mode 100644\nindex 0..5\nBinary files /dev/null and b/img.png differ\n';

  it('hands over each file when its section is complete, merging a type change', () => {
    const seen: string[] = [];
    const d = new DiffStream((f) => seen.push(`${f.path}:${f.status}`));
    d.push(OUT);
    const files = d.end();
    expect(seen).toEqual(['docs/ä b.md:modified', 'tab\there.ts:added', 'new name.md:renamed', 'link:type_changed', 'img.png:added']);
    expect(files.find((f) => f.path === 'link')).toEqual({
      path: 'link',
      status: 'type_changed',
      additions: 1,
      deletions: 1,
      binary: false,
      symlink: false,
      was_symlink: true,
      added: ['content'],
      removed: ['target'],
    });
    expect(files.find((f) => f.path === 'new name.md')).toMatchObject({ old_path: 'old name.md', additions: 0, deletions: 0 });
    expect(files.find((f) => f.path === 'img.png')?.binary).toBe(true);
  });

  it('gives the same files however the stream is cut into chunks', () => {
    const whole = parseUnifiedDiff(OUT);
    for (const size of [1, 2, 7, 50]) {
      const d = new DiffStream();
      for (let i = 0; i < OUT.length; i += size) d.push(OUT.slice(i, i + size));
      expect(d.end()).toEqual(whole);
    }
  });

  it('keeps at most MAX_KEPT_LINES lines of a huge file, with exact counts', () => {
    const n = MAX_KEPT_LINES + 5;
    const d = `--- /dev/null\n+++ b/gen.js\n@@ -0,0 +1,${n} @@\n${'+x\n'.repeat(n)}`;
    const [f] = parseUnifiedDiff(d);
    expect(f).toMatchObject({ path: 'gen.js', status: 'added', additions: n });
    expect(f?.added).toHaveLength(MAX_KEPT_LINES);
  });

  it('an empty git diff is no files', () => {
    const d = new DiffStream();
    d.push('');
    expect(d.end()).toEqual([]);
  });
});
