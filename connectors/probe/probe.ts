/**
 * probe source: runs a Prober and publishes every closed interval as an Avro ProbeResult on
 * `topic` (key: target). done() resolves when a bounded run (`intervals`) has published
 * everything, or after close().
 */
import { ComponentMetrics } from '../../lib/metrics';
import { TaplineError } from '../../lib/errors';
import { logger } from '../../lib/log';
import type { KafkaClient, TaplineProducer } from '../../lib/kafka';
import { AvroCodec } from '../../schemas';
import { PROBE_RESULT_SCHEMA, type ProbeResult } from '../../schemas/probe-result';
import type { Connector, ConnectorSummary } from '../types';
import { SendTracker } from '../udp/backpressure';
import type { ProbeConfig } from './config';
import { Prober } from './prober';

export class ProbeConnector implements Connector {
  readonly type = 'probe';
  readonly metrics = new ComponentMetrics('probe');
  readonly results: ProbeResult[] = [];
  private readonly log = logger('probe');
  private readonly codec = new AvroCodec<ProbeResult>(PROBE_RESULT_SCHEMA);
  private producer: TaplineProducer | null = null;
  private prober: Prober | null = null;
  private tracker: SendTracker | null = null;
  private running: Promise<ConnectorSummary> | null = null;
  private closing: Promise<void> | null = null;

  /** `onResult`, when given, replaces Kafka (tests, the `tapline probe` command). */
  constructor(private readonly cfg: ProbeConfig, private readonly kafka: KafkaClient | null,
    private readonly onResult?: (r: ProbeResult) => void) {}

  async start(): Promise<void> {
    if (this.running) return;
    if (!this.onResult) {
      if (!this.kafka) throw new TaplineError('CONFIG_INVALID', 'probe', 'probe connector needs a Kafka client or a result callback');
      this.producer = this.kafka.producer({ idempotent: true });
      await this.producer.connect();
      await this.kafka.ensureTopics([{ topic: this.cfg.topic, partitions: this.cfg.topicPartitions }]);
      if (this.closing) {
        // close() came while connecting: it closed the producer already; probing must not start
        this.running = Promise.resolve({ packets: 0, bytes: 0, malformed: 0, firstTsNs: null, lastTsNs: null });
        await this.producer.close().catch(() => undefined);
        return;
      }
    }
    this.tracker = new SendTracker(this.cfg.maxInflightSends, this.metrics, this.log);
    this.prober = new Prober({ ...this.cfg }, this.metrics, (r) => this.publish(r));
    this.prober.start();
    this.running = this.prober.finished().then(async () => {
      await this.tracker!.drain();
      const first = this.results[0]; const last = this.results[this.results.length - 1];
      return {
        packets: this.results.reduce((a, r) => a + r.sent, 0), bytes: 0,
        malformed: 0, firstTsNs: first ? BigInt(first.interval_start_ns) : null, lastTsNs: last ? BigInt(last.interval_end_ns) : null,
      };
    });
    this.log.info({ targets: this.cfg.targets.map((t) => `${t.host}:${t.port}/${t.kinds.join('+')}`), intervalMs: this.cfg.intervalMs }, 'prober started');
  }

  private publish(r: ProbeResult): void {
    this.metrics.received();
    this.results.push(r);
    if (this.results.length > 10_000) this.results.shift();
    if (this.onResult) { this.onResult(r); return; }
    if (this.tracker!.busy) { this.metrics.dropped('backpressure'); return; }
    this.tracker!.track(this.producer!.send(this.cfg.topic, [{ key: r.target, value: this.codec.encode(r) }]).then(() => this.metrics.sent()));
  }

  done(): Promise<ConnectorSummary> {
    if (!this.running) return Promise.reject(new Error('probe: done() before start()'));
    return this.running;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.prober?.close();
      await this.running?.catch(() => undefined);
      await this.producer?.close().catch(() => undefined);
    })();
    return this.closing;
  }
}
