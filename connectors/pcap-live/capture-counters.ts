/**
 * What the live capture saw and what it lost, by reason. Three parts feed these counters (the
 * frame handler, the capture layer's own drops, the pump's failed sends) and the stats, the
 * health records and the final summary all read them: `seen = published + dropped` holds only
 * because every loss, wherever it happens, is counted here.
 */
import type { ComponentMetrics } from '../../lib/metrics';

export class CaptureCounters {
  seen = 0;
  bytes = 0;
  truncated = 0;
  dropped = 0;
  readonly droppedByReason = new Map<string, number>();
  firstTsNs: bigint | null = null;
  lastTsNs: bigint | null = null;
  /**
   * Frames seen but not yet added to the `received` metric: the pump adds them once per round,
   * so the capture callback does not update a Prometheus counter for every frame.
   */
  private unreportedReceived = 0;

  constructor(private readonly metrics: ComponentMetrics) {}

  /** One frame handed over by the capture layer. */
  frame(wireLen: number, tsNs: bigint): void {
    this.seen++;
    this.unreportedReceived++;
    this.bytes += wireLen;
    this.firstTsNs ??= tsNs;
    this.lastTsNs = tsNs;
  }

  /** Frames the capture layer saw but could not hand over (e.g. the helper's pipe was full): seen, and dropped. */
  lostBeforeHandover(reason: string, n: number): void {
    this.seen += n;
    this.unreportedReceived += n;
    this.drop(reason, n);
  }

  drop(reason: string, n = 1): void {
    this.dropped += n;
    this.droppedByReason.set(reason, (this.droppedByReason.get(reason) ?? 0) + n);
    this.metrics.dropped(reason, n);
  }

  /** Adds the frames seen since the last call to the `received` metric. */
  reportReceived(): void {
    if (this.unreportedReceived > 0) {
      this.metrics.received(this.unreportedReceived);
      this.unreportedReceived = 0;
    }
  }
}
