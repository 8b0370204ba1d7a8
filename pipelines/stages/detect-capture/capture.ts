/**
 * detect-capture: the monitor going blind is an alert. Per capture (observation point), from
 * consecutive capture-health reports (cumulative counters; a new `started_ns` means the
 * capture was reopened and counts from zero):
 *   - `<op>|drops`: kernel + interface + pipeline drops between two reports over the packets
 *     offered (seen + dropped before tapline saw them) >= dropRatio, with >= minDrops drops;
 *   - `<op>|down`: the report says capturing=false (device down or being reopened);
 *   - `<op>|silent`: no report for staleAfterMs of event time while other captures in the task
 *     go on reporting (a capture that died without its final report; event time only advances
 *     with records, so a task whose only capture falls silent cannot tell - see docs/detectors.md).
 * Each report is one evaluation of its capture: the lifecycle's clear windows are reports.
 */
import type { CaptureHealth } from '../../../schemas/capture-health';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../runtime/types';
import { END_OF_STREAM } from '../../runtime/types';
import { AlertLifecycle, ALERTS_STORE } from '../../alerting/lifecycle';
import { settingsFor } from '../../alerting/overrides';
import { fmtNum, fmtPct, isoOf } from '../../alerting/format';
import type { CaptureSettings, DetectCaptureConfig } from './config';

export const CAPTURE_LAST_STORE = 'capture-last';

export interface LastReport {
  ts: bigint; started: bigint; seen: bigint; kernel: bigint; iface: bigint; pipeline: bigint;
  final: boolean; host: string; iface_name: string;
}

const b = (x: bigint | number | null): bigint => (x === null ? 0n : BigInt(x));

export class CaptureProcessor implements Processor<CaptureHealth> {
  private ctx!: ProcessorContext;
  private last!: KeyValueStore<LastReport>;
  private lifecycle!: AlertLifecycle;

  constructor(private readonly cfg: DetectCaptureConfig) {}

  init(ctx: ProcessorContext): void {
    this.ctx = ctx;
    this.last = ctx.store(CAPTURE_LAST_STORE);
    this.lifecycle = new AlertLifecycle('detect-capture', ctx.store(ALERTS_STORE), this.cfg.lifecycle, (a) => ctx.forward(this.cfg.outputTopic, a.dedup_key, a));
  }

  private settings(op: string, host: string, iface: string): CaptureSettings {
    return settingsFor<CaptureSettings>(this.cfg.defaults, this.cfg.overrides, null, [op, host, `${host}:${iface}`]);
  }

  process(rec: StreamRecord<CaptureHealth>): void {
    const h = rec.value;
    const op = h.observation_point;
    const ts = BigInt(h.ts_ns);
    const prev = this.last.get(op);
    if (prev && ts <= prev.ts) { this.ctx.metrics.dropped('stale-report'); return; }
    const cur: LastReport = { ts, started: BigInt(h.started_ns), seen: b(h.packets_seen), kernel: b(h.kernel_drops), iface: b(h.interface_drops),
      pipeline: b(h.pipeline_drops), final: h.final, host: h.host, iface_name: h.interface };
    // a reopened capture counts from zero again
    const base = prev && prev.started === cur.started ? prev : { seen: 0n, kernel: 0n, iface: 0n, pipeline: 0n };
    const d = { seen: cur.seen - base.seen, kernel: cur.kernel - base.kernel, iface: cur.iface - base.iface, pipeline: cur.pipeline - base.pipeline };
    const neg = Object.values(d).some((x) => x < 0n);
    const s = this.settings(op, h.host, h.interface);
    const ids = { host_a: h.host, observation_point: op };
    const where = `${h.host}:${h.interface} (${op})`;
    if (!neg) {
      const drops = Number(d.kernel + d.iface + d.pipeline);
      const offered = Number(d.seen + d.kernel + d.iface);
      const ratio = offered > 0 ? drops / offered : 0;
      if (drops >= s.minDrops && ratio >= s.dropRatio) {
        this.lifecycle.breach(ts, { ...ids, type: 'capture_drops', subject: `${op}|drops`, metric: 'drop_ratio', value: ratio, threshold: s.dropRatio,
          severity: ratio >= s.criticalRatio ? 'critical' : 'warning',
          summary: `capture ${where} dropped ${drops} of ${offered} packets (${fmtPct(ratio)}) since the previous report`,
          evidence: { kernel_drops: String(d.kernel), interface_drops: String(d.iface), pipeline_drops: String(d.pipeline), packets_seen: String(d.seen),
            interval_s: fmtNum(prev ? Number(ts - prev.ts) / 1e9 : 0), queue: `${h.queue_depth}/${h.queue_capacity}`,
            ...Object.fromEntries(Object.entries(h.pipeline_drops_by_reason).map(([k, v]) => [`pipeline_${k}`, String(v)])) } });
      }
    } else this.ctx.metrics.dropped('counters-went-back');
    if (s.notCapturing && !h.capturing && !h.final) {
      this.lifecycle.breach(ts, { ...ids, type: 'capture_drops', subject: `${op}|down`, metric: 'capturing', value: 0, threshold: 1, severity: 'critical',
        summary: `capture ${where} is not capturing${h.last_error ? `: ${h.last_error}` : ''}`,
        evidence: { restarts: String(h.capture_restarts), last_error: h.last_error ?? '' } });
    }
    // this report is an evaluation of this capture's alerts (drops, down, silent); after a final
    // report (closed on purpose) no report will count clear windows: what it did not show resolves now
    const mine = (k: string) => k.startsWith(`capture_drops|${op}|`);
    if (h.final) this.lifecycle.resolveNow(ts, mine);
    else this.lifecycle.endWindow(ts, mine);
    this.last.put(op, cur);
  }

  punctuate(streamTimeNs: bigint): void {
    if (streamTimeNs === END_OF_STREAM) return; // the end of a replay is not silence
    for (const [op, l] of this.last.entries()) {
      const s = this.settings(op, l.host, l.iface_name);
      if (l.final || s.staleAfterMs === 0) continue;
      const silent = streamTimeNs - l.ts;
      if (silent < BigInt(s.staleAfterMs) * 1_000_000n) continue;
      this.lifecycle.breach(streamTimeNs, { host_a: l.host, observation_point: op, type: 'capture_drops', subject: `${op}|silent`, metric: 'seconds_since_report',
        value: Number(silent) / 1e9, threshold: s.staleAfterMs / 1000, severity: 'critical',
        summary: `capture ${l.host}:${l.iface_name} (${op}) has not reported since ${isoOf(l.ts)}: the monitor may be blind`,
        evidence: { last_report: isoOf(l.ts) } });
    }
  }

  close(): void { /* state is in the stores */ }
}
