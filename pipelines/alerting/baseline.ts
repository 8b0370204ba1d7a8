/**
 * A robust streaming baseline of one series (bytes per second of a VM or a pair, per window):
 * an exponentially weighted level with an exponentially weighted mean absolute deviation as
 * its scale (the streaming cousin of median/MAD), Huber-clipped: once warmed up, a value is
 * clipped to level ± clip·scale before it updates the baseline, so a burst moves the baseline
 * by at most α·clip·scale per window instead of becoming the new normal at once, while a
 * lasting level shift is still adopted over ~1/α windows. Windows with no traffic count as 0
 * (filled in lazily when the series is next seen, at most `maxGap` of them: after that the
 * baseline has decayed anyway). See pipelines/stages/detect-traffic/README.md for the choice.
 */
export interface Baseline {
  /** windows learned */
  n: number;
  level: number;
  /** EW mean absolute deviation */
  dev: number;
  /** start (ns) of the last window learned */
  last: bigint;
}

export interface BaselineParams {
  alpha: number;
  clip: number;
  warmupWindows: number;
  /** smallest scale (same unit as the values): keeps a flat series from alerting on noise */
  minScale: number;
}

/** Mean absolute deviation -> standard-deviation equivalent for a normal distribution. */
const MAD_TO_SIGMA = 1.2533;

export function scaleOf(b: Baseline, p: BaselineParams): number { return Math.max(MAD_TO_SIGMA * b.dev, p.minScale); }

/** Learns one value (no gap filling: for series where a missing window means "no sample", not 0). */
export function learn(b: Baseline, x: number, p: BaselineParams): void {
  if (b.n === 0) { b.level = x; b.dev = 0; b.n = 1; return; }
  let v = x;
  if (b.n >= p.warmupWindows) {
    const s = scaleOf(b, p);
    v = Math.min(Math.max(x, b.level - p.clip * s), b.level + p.clip * s);
  }
  const d = Math.abs(v - b.level);
  b.level += p.alpha * (v - b.level);
  b.dev += p.alpha * (d - b.dev);
  b.n++;
}

export function newBaseline(): Baseline { return { n: 0, level: 0, dev: 0, last: -1n }; }

/**
 * Learns the empty windows between the last one learned and `windowStart` (as zeros), once:
 * `last` then stands at the window before `windowStart`, so a second call learns nothing more.
 */
export function fillGap(b: Baseline, windowStart: bigint, windowNs: bigint, p: BaselineParams, maxGap = 64): void {
  if (b.last < 0n || windowStart <= b.last) return;
  const gap = Number((windowStart - b.last) / windowNs) - 1;
  if (gap <= 0) return;
  for (let i = 0; i < Math.min(gap, maxGap); i++) learn(b, 0, p);
  b.last = windowStart - windowNs;
}

/** Learns the value of the window starting at `windowStart` (gap filled first). */
export function learnWindow(b: Baseline, windowStart: bigint, windowNs: bigint, x: number, p: BaselineParams): void {
  fillGap(b, windowStart, windowNs, p);
  learn(b, x, p);
  b.last = windowStart;
}
