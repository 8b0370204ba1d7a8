/**
 * Event-time windows. Tumbling: size = advance, each record in exactly one window. Hopping:
 * windows of `size` starting every `advance` (advance divides size), each record in size/advance
 * windows. Window starts are aligned to the Unix epoch, so every worker agrees on them.
 */
export interface WindowSpec { sizeNs: bigint; advanceNs: bigint; latenessNs: bigint }

export function windowSpec(windowMs: number, advanceMs: number | undefined, allowedLatenessMs: number): WindowSpec {
  const size = BigInt(windowMs) * 1_000_000n;
  const advance = BigInt(advanceMs ?? windowMs) * 1_000_000n;
  if (advance <= 0n || advance > size || size % advance !== 0n) {
    throw new Error(`window advance ${advanceMs} ms must divide the window size ${windowMs} ms`);
  }
  return { sizeNs: size, advanceNs: advance, latenessNs: BigInt(allowedLatenessMs) * 1_000_000n };
}

function floorTo(ts: bigint, step: bigint): bigint {
  return ts - (((ts % step) + step) % step);
}

/** Starts of the windows that contain `ts`, oldest first. */
export function windowStarts(ts: bigint, w: WindowSpec): bigint[] {
  const last = floorTo(ts, w.advanceNs);
  const out: bigint[] = [];
  for (let start = last - w.sizeNs + w.advanceNs; start <= last; start += w.advanceNs) out.push(start);
  return out;
}

/** A window is final once stream time has passed its end plus the allowed lateness. */
export function isClosed(start: bigint, w: WindowSpec, streamTime: bigint): boolean {
  return start + w.sizeNs + w.latenessNs <= streamTime;
}

/**
 * The windows of the latest record, kept between records: consecutive packets mostly fall in
 * the same advance step, and BigInt arithmetic allocates, so the starts and close times are
 * computed once per step, not once per packet. The arrays are replaced, never mutated, when
 * the step changes, so a caller may keep the ones it was given.
 */
export class WindowCursor {
  /** the step [from, to) the arrays below belong to; empty until the first seek */
  private from = 1n;
  private to = 0n;
  starts: bigint[] = [];
  /** starts[i] + size + allowed lateness: stream time at which window i is final */
  closes: bigint[] = [];

  constructor(private readonly w: WindowSpec) {}

  seek(ts: bigint): void {
    if (ts >= this.from && ts < this.to) return;
    this.starts = windowStarts(ts, this.w);
    this.from = this.starts[this.starts.length - 1];
    this.to = this.from + this.w.advanceNs;
    this.closes = this.starts.map((s) => s + this.w.sizeNs + this.w.latenessNs);
  }
}
