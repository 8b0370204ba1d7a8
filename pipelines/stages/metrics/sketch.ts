/**
 * RTT accumulation per window and kind: a DDSketch (@datadog/sketches-js) for percentiles plus
 * exact count/sum/min/max and the consecutive-sample deltas for jitter. The sketch travels in
 * the output record as its bins (DDSketchBins), so windows merge into minutes or hours exactly
 * as the sketches would: sketchFromBins(a).merge(sketchFromBins(b)) == the sketch of both.
 */
import { DDSketch } from '@datadog/sketches-js';
import type { DDSketchBins, RttStats } from '../../../schemas/flow-metrics';

/**
 * The accumulator lives in a state store, whose values must stay plain data (the changelog
 * serializes them with structured clone: class instances would lose their methods). So it keeps
 * the DDSketch's bins itself, keyed by the library's own mapping (exactly what
 * DDSketch.accept() does with a positive value), and a real DDSketch is built from them when
 * the window is emitted.
 */
export interface RttAcc {
  n: number;
  sum: number;
  zero: number;
  /** sketch bins: keys ascending, counts[i] for keys[i] (small: one bin per 2% of RTT range) */
  keys: number[];
  counts: number[];
  /** exact integer ns extremes */
  min: number;
  max: number;
  dsum: number;
  dcount: number;
}

const mappings = new Map<number, DDSketch['mapping']>();
function mappingFor(relativeAccuracy: number): DDSketch['mapping'] {
  let m = mappings.get(relativeAccuracy);
  if (!m) { m = new DDSketch({ relativeAccuracy }).mapping; mappings.set(relativeAccuracy, m); }
  return m;
}

export function newRttAcc(): RttAcc {
  return { n: 0, sum: 0, zero: 0, keys: [], counts: [], min: Infinity, max: -Infinity, dsum: 0, dcount: 0 };
}

/** Adds one sample; `prev` is the previous sample of this kind on this flow (NaN if none). */
export function addSample(acc: RttAcc, ns: number, prev: number, relativeAccuracy: number): void {
  const m = mappingFor(relativeAccuracy);
  if (ns > m.minPossible) {
    const k = m.key(ns);
    let i = acc.keys.length;
    while (i > 0 && acc.keys[i - 1] > k) i--;
    if (i > 0 && acc.keys[i - 1] === k) acc.counts[i - 1]++;
    else { acc.keys.splice(i, 0, k); acc.counts.splice(i, 0, 1); }
  } else {
    acc.zero++;
  }
  acc.n++;
  acc.sum += ns;
  if (ns < acc.min) acc.min = ns;
  if (ns > acc.max) acc.max = ns;
  if (!Number.isNaN(prev)) { acc.dsum += Math.abs(ns - prev); acc.dcount++; }
}

export function accToBins(acc: RttAcc, relativeAccuracy: number): DDSketchBins {
  return { relative_accuracy: relativeAccuracy, gamma: mappingFor(relativeAccuracy).gamma, zero_count: acc.zero,
    keys: acc.keys.slice(), counts: acc.counts.slice() };
}

/** The sketch's non-empty bins (positive store; RTTs are never negative). */
export function sketchToBins(sk: DDSketch, relativeAccuracy: number): DDSketchBins {
  const keys: number[] = [];
  const counts: number[] = [];
  const st = sk.store;
  if (st.count > 0) {
    for (let k = st.minKey; k <= st.maxKey; k++) {
      const c = st.bins[k - st.offset];
      if (c) { keys.push(k); counts.push(c); }
    }
  }
  return { relative_accuracy: relativeAccuracy, gamma: sk.mapping.gamma, zero_count: sk.zeroCount, keys, counts };
}

/**
 * Rebuilds a DDSketch from its bins (and the record's exact summary, when given, so that
 * count/sum/min/max are those of the samples rather than of the bins).
 */
export function sketchFromBins(b: DDSketchBins, summary?: { count: number; sum: number; min: number; max: number }): DDSketch {
  const sk = new DDSketch({ relativeAccuracy: b.relative_accuracy });
  if (Math.abs(sk.mapping.gamma - b.gamma) > 1e-12) throw new Error(`sketch gamma ${b.gamma} does not match relative accuracy ${b.relative_accuracy}`);
  let n = b.zero_count;
  for (let i = 0; i < b.keys.length; i++) { sk.store.add(b.keys[i], b.counts[i]); n += b.counts[i]; }
  sk.zeroCount = b.zero_count;
  sk.count = n;
  if (summary) { sk.sum = summary.sum; sk.min = summary.min; sk.max = summary.max; }
  return sk;
}

export function toRttStats(acc: RttAcc, relativeAccuracy: number): RttStats {
  const bins = accToBins(acc, relativeAccuracy);
  const sk = sketchFromBins(bins, { count: acc.n, sum: acc.sum, min: acc.min, max: acc.max });
  return {
    count: BigInt(acc.n), sum_ns: acc.sum, mean_ns: acc.sum / acc.n,
    min_ns: BigInt(acc.min), max_ns: BigInt(acc.max),
    p50_ns: sk.getValueAtQuantile(0.5), p95_ns: sk.getValueAtQuantile(0.95), p99_ns: sk.getValueAtQuantile(0.99),
    jitter_ns: acc.dcount > 0 ? acc.dsum / acc.dcount : null, delta_sum_ns: acc.dsum, delta_count: BigInt(acc.dcount),
    sketch: bins,
  };
}

/** Merges RttStats of several windows (e.g. a connection's whole life, or a minute). */
export function mergeRttStats(list: (RttStats | null)[]): RttStats | null {
  const xs = list.filter((x): x is RttStats => x !== null);
  if (xs.length === 0) return null;
  const ra = xs[0].sketch.relative_accuracy;
  let count = 0, sum = 0, min = Infinity, max = -Infinity, dsum = 0, dcount = 0;
  const sk = new DDSketch({ relativeAccuracy: ra });
  for (const x of xs) {
    const c = Number(x.count);
    sk.merge(sketchFromBins(x.sketch, { count: c, sum: x.sum_ns, min: Number(x.min_ns), max: Number(x.max_ns) }));
    count += c; sum += x.sum_ns; dsum += x.delta_sum_ns; dcount += Number(x.delta_count);
    min = Math.min(min, Number(x.min_ns)); max = Math.max(max, Number(x.max_ns));
  }
  return {
    count: BigInt(count), sum_ns: sum, mean_ns: sum / count, min_ns: BigInt(min), max_ns: BigInt(max),
    p50_ns: sk.getValueAtQuantile(0.5), p95_ns: sk.getValueAtQuantile(0.95), p99_ns: sk.getValueAtQuantile(0.99),
    jitter_ns: dcount > 0 ? dsum / dcount : null, delta_sum_ns: dsum, delta_count: BigInt(dcount),
    sketch: sketchToBins(sk, ra),
  };
}
