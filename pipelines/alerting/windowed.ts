/**
 * The skeleton of a windowed detector task: records are folded into per-(window, subject)
 * accumulators in a store; when stream time passes a window's end (plus lateness) the window
 * is evaluated (the detector reports breaches to the shared lifecycle), then the lifecycle
 * counts a clear window for every live alert not reported in it. Late records (their window
 * already evaluated) are counted as dropped{reason="late"}, never folded into a closed window.
 */
import type { Alert } from '../../schemas/alert';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../runtime/types';
import { AlertLifecycle, ALERTS_STORE, type LifecycleConfig } from './lifecycle';
import { BucketClock, CLOCK_STORE } from './buckets';

export const ACC_STORE = 'detect-windows';
export const WINDOWED_STORES = [ALERTS_STORE, CLOCK_STORE, ACC_STORE];

export interface WindowedSettings {
  windowMs: number;
  allowedLatenessMs: number;
  lifecycle: LifecycleConfig;
  outputTopic: string;
}

export abstract class WindowedDetector<V, A> implements Processor<V> {
  protected ctx!: ProcessorContext;
  protected lifecycle!: AlertLifecycle;
  protected clock!: BucketClock;
  private acc!: KeyValueStore<A>;
  readonly windowNs: bigint;

  constructor(protected readonly detector: string, protected readonly settings: WindowedSettings) {
    this.windowNs = BigInt(settings.windowMs) * 1_000_000n;
  }

  init(ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.acc = ctx.store<A>(ACC_STORE);
    this.clock = new BucketClock(ctx.store<bigint>(CLOCK_STORE), this.windowNs, BigInt(this.settings.allowedLatenessMs) * 1_000_000n);
    this.lifecycle = new AlertLifecycle(this.detector, ctx.store(ALERTS_STORE), this.settings.lifecycle,
      (a: Alert) => ctx.forward(this.settings.outputTopic, a.dedup_key, a));
    this.initDetector(ctx);
  }

  /** Stores of the detector itself (baselines, known pairs). */
  protected initDetector(_ctx: ProcessorContext): void { /* none by default */ }

  /** Event time that places a record in a window. */
  protected abstract eventTimeOf(v: V): bigint;

  /** Folds one record into the window's accumulators (via acc()/putAcc()). */
  protected abstract fold(windowStart: bigint, rec: StreamRecord<V>): void;

  /** Evaluates one window's accumulators (subject -> accumulator); reports breaches to this.lifecycle. */
  protected abstract evaluate(windowStart: bigint, windowEnd: bigint, subjects: Map<string, A>): void;

  /** After a window: evict idle state etc. */
  protected afterWindow(_windowEnd: bigint): void { /* nothing by default */ }

  protected acc_(windowStart: bigint, subject: string): A | undefined { return this.acc.get(`${windowStart}|${subject}`); }

  protected putAcc(windowStart: bigint, subject: string, a: A): void { this.acc.put(`${windowStart}|${subject}`, a); }

  process(rec: StreamRecord<V>): void {
    const ts = this.eventTimeOf(rec.value);
    if (this.clock.isLate(ts)) { this.ctx.metrics.dropped('late'); return; }
    this.fold(this.clock.bucketOf(ts), rec);
  }

  punctuate(streamTimeNs: bigint): void {
    const byWindow = new Map<bigint, Map<string, A>>();
    for (const [k, a] of this.acc.entries()) {
      const i = k.indexOf('|');
      const w = BigInt(k.slice(0, i));
      let m = byWindow.get(w);
      if (!m) { m = new Map(); byWindow.set(w, m); }
      m.set(k.slice(i + 1), a);
    }
    for (const w of this.clock.due(streamTimeNs, byWindow.keys())) {
      const subjects = byWindow.get(w) ?? new Map<string, A>();
      const end = w + this.windowNs;
      this.evaluate(w, end, subjects);
      for (const s of subjects.keys()) this.acc.delete(`${w}|${s}`);
      this.lifecycle.endWindow(end);
      this.afterWindow(end);
    }
  }

  close(): void { /* state is in the stores */ }
}
