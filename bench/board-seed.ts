import type { Database } from 'better-sqlite3';

/** What seedBoard wrote: the MEGA keys in planned order and the phase count. */
export interface SeededBoard {
  keys: string[];
  phases: number;
}

/**
 * A large board written straight into the tables in one transaction (100,000 phases in well under
 * a second), as plan_mega, claims and completions would leave it: per MEGA the first fifth of its
 * phases done, every third phase after the first claimed ones waiting on the one before, two phases claimed by one of ten
 * instances; `unmet`, `mega_at` and phase_deps kept as the store keeps them. For the board's scale
 * test and bench (issue 14).
 */
export function seedBoard(db: Database, opts: { megas: number; phasesPer: number; now: number }): SeededBoard {
  const { megas, phasesPer, now } = opts;
  const keys = Array.from({ length: megas }, (_, i) => `S-${String(i + 1).padStart(5, '0')}`);
  const mega = db.prepare('INSERT INTO megas (key, title, source, created_at, updated_at) VALUES (?, ?, NULL, ?, ?)');
  const phase = db.prepare(
    `INSERT INTO phases (mega, id, id_kind, ord, name, points, tickets, deps, max_points, mega_at, unmet, owner, token, epoch, claimed_at, lease_seconds, lease_expires_at, completed_at, completed_by)
     VALUES (?, ?, 'int', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const dep = db.prepare('INSERT INTO phase_deps (mega, phase, dep) VALUES (?, ?, ?)');
  db.transaction(() => {
    keys.forEach((key, m) => {
      const at = now + m;
      mega.run(key, `Seeded MEGA ${m + 1}: a title of ordinary length`, at, at);
      const done = Math.floor(phasesPer / 5);
      for (let j = 1; j <= phasesPer; j++) {
        const isDone = j <= done;
        const claimed = !isDone && (j === done + 1 || j === done + 2);
        const deps = j % 3 === 0 && !claimed ? [j - 1] : []; // a claimed phase had its deps done
        const owner = claimed ? `t${1000 + (m % 10)}` : null;
        const points = (j % 5) + 1;
        const unmet = deps.some((d) => d > done) && !isDone ? 1 : 0;
        phase.run(
          key,
          String(j),
          j - 1,
          `Phase ${j} of ${key}`,
          points,
          JSON.stringify([`${key}-T${j}`]),
          JSON.stringify(deps),
          points,
          at,
          unmet,
          owner,
          claimed ? `fx1-seed-${m}-${j}` : null,
          claimed || isDone ? 1 : 0,
          claimed || isDone ? now : null,
          claimed ? 7200 : null,
          claimed ? now + 7_200_000 : null,
          isDone ? now + 60_000 : null,
          isDone ? `t${1000 + (m % 10)}` : null,
        );
        for (const d of deps) dep.run(key, String(j), String(d));
      }
    });
  })();
  return { keys, phases: megas * phasesPer };
}
