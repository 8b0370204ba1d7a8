/**
 * Publishes the capture's CaptureHealth records: periodically, whenever the capture stops or is
 * reopened, and a final one on close. A record is skipped while the previous one is still in
 * flight (except the final one), so a slow broker never piles up health sends; a record Kafka
 * refuses is counted as an error and logged, never thrown at the capture.
 */
import { TaplineError, errorMessage } from '../../lib/errors';
import type { TaplineProducer } from '../../lib/kafka';
import type { Logger } from '../../lib/log';
import type { ComponentMetrics } from '../../lib/metrics';
import { AvroCodec } from '../../schemas';
import { CAPTURE_HEALTH_SCHEMA, type CaptureHealth } from '../../schemas/capture-health';
import type { PcapLiveStats } from './pcap-live';

/** What a health record is made from (the connector). */
export interface HealthSource {
  /** the record key */
  readonly observationPoint: string;
  healthRecord(final: boolean): CaptureHealth;
  /** logged with each record */
  stats(): PcapLiveStats;
}

export class HealthReporter {
  private readonly codec = new AvroCodec<CaptureHealth>(CAPTURE_HEALTH_SCHEMA);
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly producer: TaplineProducer, private readonly topic: string, private readonly source: HealthSource,
    private readonly metrics: ComponentMetrics, private readonly log: Logger) {}

  /** A record every `intervalMs`; the timer does not keep the process alive. */
  startPeriodic(intervalMs: number): void {
    this.timer = setInterval(() => this.send(false), intervalMs);
    this.timer.unref();
  }

  stopPeriodic(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Publishes one record; while the previous one is in flight, a non-final one is skipped. */
  send(final: boolean): Promise<void> {
    if (this.inFlight && !final) return this.inFlight;
    const rec = this.source.healthRecord(final);
    const send = (async () => {
      try {
        await this.producer.send(this.topic, [{ key: this.source.observationPoint, value: this.codec.encode(rec) }]);
      } catch (e) {
        this.metrics.error(e instanceof TaplineError ? e.code : 'KAFKA_UNREACHABLE');
        this.log.warn({ err: errorMessage(e) }, 'capture health record not sent');
      }
    })();
    const tracked = send.finally(() => { if (this.inFlight === tracked) this.inFlight = null; });
    this.inFlight = tracked;
    (final ? this.log.info : this.log.debug).call(this.log, { ...this.source.stats(), interfaceDrops: String(rec.interface_drops) }, 'capture health');
    return tracked;
  }

  /** Resolves once the record in flight, if any, is settled. */
  async settled(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }
}
