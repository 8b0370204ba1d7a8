/**
 * Receive-time clock for live sources: the wall clock read once, then advanced by the monotonic
 * process.hrtime.bigint(), so timestamps have ns resolution and never step backwards when NTP
 * adjusts the system clock while a connector runs.
 */
export class HrWallClock {
  private readonly wallNs = BigInt(Date.now()) * 1_000_000n;
  private readonly hr0 = process.hrtime.bigint();

  /** ns since the Unix epoch */
  now(): bigint {
    return this.wallNs + (process.hrtime.bigint() - this.hr0);
  }
}
