/**
 * The counters every component emits, under the same names, so one dashboard query covers
 * connectors, stages and sinks alike: received, sent, errors by code, dropped by reason.
 * Served in the Prometheus text format on /metrics by startMetricsServer().
 */
import http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'tapline_process_' });

const received = new Counter({ name: 'tapline_records_received_total', help: 'records read by a component', labelNames: ['component'], registers: [registry] });
const sent = new Counter({ name: 'tapline_records_sent_total', help: 'records written by a component', labelNames: ['component'], registers: [registry] });
const errors = new Counter({ name: 'tapline_errors_total', help: 'errors by code', labelNames: ['component', 'code'], registers: [registry] });
const dropped = new Counter({ name: 'tapline_records_dropped_total', help: 'records dropped (dead-lettered, late, unusable) by reason', labelNames: ['component', 'reason'], registers: [registry] });
const lag = new Gauge({ name: 'tapline_stream_time_seconds', help: 'event time a component has reached', labelNames: ['component'], registers: [registry] });

/** A component's view of the shared counters; also keeps local totals for summaries and tests. */
export class ComponentMetrics {
  readonly totals = { received: 0, sent: 0, errors: 0, dropped: 0 };
  readonly errorsByCode = new Map<string, number>();
  readonly droppedByReason = new Map<string, number>();

  constructor(readonly component: string) {}

  received(n = 1): void { this.totals.received += n; received.inc({ component: this.component }, n); }
  sent(n = 1): void { this.totals.sent += n; sent.inc({ component: this.component }, n); }
  error(code: string, n = 1): void {
    this.totals.errors += n;
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + n);
    errors.inc({ component: this.component, code }, n);
  }
  dropped(reason: string, n = 1): void {
    this.totals.dropped += n;
    this.droppedByReason.set(reason, (this.droppedByReason.get(reason) ?? 0) + n);
    dropped.inc({ component: this.component, reason }, n);
  }
  streamTime(ns: bigint): void { lag.set({ component: this.component }, Number(ns / 1_000_000n) / 1000); }
}

export interface MetricsServer { url: string; close(): Promise<void> }

export async function startMetricsServer(host: string, port: number): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') { res.writeHead(404).end('not found\n'); return; }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, resolve); });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://${host}:${actual}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
