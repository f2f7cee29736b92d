/**
 * `numerator / denominator` rounded to the nearest integer, halves away from zero (so "half up"
 * for the non-negative costs); null when the denominator is 0. Exact for safe integers.
 */
export function divideRounded(numerator: number, denominator: number): number | null {
  if (denominator === 0) return null;
  const sign = Math.sign(numerator) * Math.sign(denominator);
  const n = Math.abs(numerator);
  const d = Math.abs(denominator);
  const q = Math.floor((2 * n + d) / (2 * d));
  return sign < 0 ? -q : q;
}

/** `numerator / denominator` with `places` decimals, halves away from zero; null when the denominator is 0. */
export function ratio(numerator: number, denominator: number, places = 4): number | null {
  const scale = 10 ** places;
  const scaled = divideRounded(numerator * scale, denominator);
  return scaled === null ? null : scaled / scale;
}

/** Week-over-week change as a fraction (0.25 = +25 %), 4 decimals; null when the week before was 0. */
export function change(current: number, previous: number): number | null {
  return ratio(current - previous, previous);
}
