/**
 * Capacity forecast: ordinary least squares of utilization against time over the history
 * points, then when the fitted line reaches a level. A straight line is the honest model for
 * "at this growth": Holt's linear trend would weight recent points more but needs a smoothing
 * parameter per series and says the same thing on a steady trend; the R² of the fit is
 * reported so a noisy, flat history does not produce a confident date.
 */
export interface Fit { slopePerDay: number; intercept: number; r2: number; n: number; fittedLast: number; lastT: number }

const DAY_NS = 86_400e9;

/** points: [time ns (as number), value]. Times are shifted to the first point for precision. */
export function fitLine(points: readonly [number, number][]): Fit | null {
  const n = points.length;
  if (n < 2) return null;
  const t0 = points[0][0];
  let sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  for (const [t, y] of points) { const x = (t - t0) / DAY_NS; sx += x; sy += y; sxx += x * x; sxy += x * y; syy += y * y; }
  const den = n * sxx - sx * sx;
  if (den <= 0) return null;
  const b = (n * sxy - sx * sy) / den;
  const a = (sy - b * sx) / n;
  const ssTot = syy - (sy * sy) / n;
  let ssRes = 0;
  for (const [t, y] of points) { const e = y - (a + b * ((t - t0) / DAY_NS)); ssRes += e * e; }
  const r2 = ssTot > 0 ? Math.max(0, 1 - ssRes / ssTot) : 0;
  const lastX = (points[n - 1][0] - t0) / DAY_NS;
  return { slopePerDay: b, intercept: a, r2, n, fittedLast: a + b * lastX, lastT: points[n - 1][0] };
}

/** Days from the last point until the fitted line reaches `level` (0 if already there; null if never). */
export function daysUntil(fit: Fit, level: number): number | null {
  if (fit.fittedLast >= level) return 0;
  if (fit.slopePerDay <= 0) return null;
  return (level - fit.fittedLast) / fit.slopePerDay;
}
