/**
 * Datagram loss from sFlow sequence numbers. Each agent/sub-agent numbers its datagrams 1, 2,
 * 3...; a forward jump of n means n-1 datagrams never arrived. A datagram that arrives late
 * (behind the highest seen) was counted lost when the gap opened, so it is taken back out. An
 * agent restart (the sequence restarting at 1 or jumping far back) starts a new count.
 * Sequence numbers are 32-bit and may wrap. The number of tracked streams is bounded.
 */
export interface SequenceCounts { lost: number; duplicates: number; reordered: number; resets: number }

const HALF = 2 ** 31;
/** how far behind the newest datagram a late one may be before we call it a restart */
const MAX_REORDER = 1024;

export class SequenceTracker {
  readonly counts: SequenceCounts = { lost: 0, duplicates: 0, reordered: 0, resets: 0 };
  private readonly last = new Map<string, { seq: number; uptime: number }>();

  constructor(private readonly maxStreams = 65_536) {}

  /** Records one datagram; returns how many datagrams this one reveals as lost. */
  observe(key: string, seq: number, uptimeMs: number): number {
    const prev = this.last.get(key);
    if (!prev) {
      if (this.last.size >= this.maxStreams) this.last.delete(this.last.keys().next().value as string);
      this.last.set(key, { seq, uptime: uptimeMs });
      return 0;
    }
    const diff = (seq - prev.seq) >>> 0;
    if (diff === 0) { this.counts.duplicates++; return 0; }
    if (diff < HALF) {
      prev.seq = seq; prev.uptime = uptimeMs;
      this.counts.lost += diff - 1;
      return diff - 1;
    }
    // Behind the highest sequence seen: a late datagram, unless the agent restarted (sequence
    // restarting at 1, far behind, or an uptime more than a minute older than the last one).
    const behind = (prev.seq - seq) >>> 0;
    if (seq <= 1 || behind > MAX_REORDER || uptimeMs < prev.uptime - 60_000) {
      this.counts.resets++;
      prev.seq = seq; prev.uptime = uptimeMs;
      return 0;
    }
    this.counts.reordered++;
    if (this.counts.lost > 0) { this.counts.lost--; return -1; }
    return 0;
  }
}
