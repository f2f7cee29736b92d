/**
 * The seed of a randomized test: `TEST_SEED` when set (to reproduce a failure), else a fresh one.
 * Always printed, so any failing run can be replayed exactly.
 */
export function testSeed(label: string, env: Record<string, string | undefined> = process.env): number {
  const given = env.TEST_SEED === undefined || env.TEST_SEED === '' ? Number.NaN : Number(env.TEST_SEED);
  const seed = Number.isSafeInteger(given) ? given : Math.floor(Math.random() * 2 ** 31);
  console.info(`[seed] ${label}: ${seed}  (reproduce with TEST_SEED=${seed})`);
  return seed;
}

/** A small deterministic generator (mulberry32) → floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A copy of `items` in a Fisher–Yates order drawn from `random`. */
export function seededShuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
