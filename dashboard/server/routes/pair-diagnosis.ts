/**
 * "Where is the problem": plain-language findings from the pair drill-down's numbers, most
 * severe first. Each finding names the segment it points at (server side, client side, network
 * before/after the mirror, the capture itself, the application) and the numbers behind it.
 */
import { THRESHOLDS } from './common';

export interface Finding { severity: 'critical' | 'warning' | 'info'; where: string; text: string }

interface Input {
  summary: { lossPct: number | null; retransmitted: number; lostBeforeMirror: number; captureLoss: number; dataSegments: number } | null;
  traffic: { unansweredSyn: number; resets: number; syns: number }[];
  rtt: { serverMs: number | null; clientMs: number | null; samplesServer: number; samplesClient: number }[];
  l7: { kind: string; count: number; avgMs: number | null; errors: number }[];
  alerts: { state: unknown; severity: unknown }[];
}

const weighted = (rows: Input['rtt'], v: 'serverMs' | 'clientMs', n: 'samplesServer' | 'samplesClient'): number | null => {
  let s = 0; let c = 0;
  for (const r of rows) if (r[v] !== null && r[n] > 0) { s += r[v]! * r[n]; c += r[n]; }
  return c > 0 ? s / c : null;
};
const f1 = (x: number) => x.toFixed(x < 10 ? 2 : 1);

export function diagnose(d: Input): Finding[] {
  const out: Finding[] = [];
  const srv = weighted(d.rtt, 'serverMs', 'samplesServer');
  const cli = weighted(d.rtt, 'clientMs', 'samplesClient');
  if (srv !== null && cli !== null) {
    const total = srv + cli;
    const sev = total >= THRESHOLDS.rttMs.critical ? 'critical' : total >= THRESHOLDS.rttMs.warning ? 'warning' : 'info';
    const side = srv > 2 * cli ? 'server side' : cli > 2 * srv ? 'client side' : 'both sides';
    out.push({ severity: sev, where: side,
      text: `RTT ${f1(total)} ms end to end: server side ${f1(srv)} ms, client side ${f1(cli)} ms` +
        (side === 'both sides' ? ' (balanced)' : ` — most of the delay is on the ${side} of the mirror`) });
  }
  const s = d.summary;
  if (s && s.dataSegments > 0) {
    const loss = s.lossPct ?? 0;
    const sev = loss >= THRESHOLDS.lossPct.critical ? 'critical' : loss >= THRESHOLDS.lossPct.warning ? 'warning' : 'info';
    if (s.retransmitted + s.lostBeforeMirror > 0) {
      const where = s.lostBeforeMirror > s.retransmitted ? 'network before the mirror (sender side)' : 'network after the mirror (receiver side)';
      out.push({ severity: sev, where, text: `loss ${loss.toFixed(2)} %: ${s.retransmitted} segments retransmitted after the mirror, ` +
        `${s.lostBeforeMirror} lost before it, of ${s.dataSegments} data segments` });
    }
    if (s.captureLoss > 0) {
      out.push({ severity: 'warning', where: 'capture', text: `${s.captureLoss} gaps were acknowledged by the receiver but never seen by the mirror: the capture dropped them, not the network` });
    }
  }
  const syns = d.traffic.reduce((a, r) => a + r.syns, 0);
  const unanswered = d.traffic.reduce((a, r) => a + r.unansweredSyn, 0);
  const resets = d.traffic.reduce((a, r) => a + r.resets, 0);
  if (unanswered > 0) out.push({ severity: unanswered >= 10 ? 'critical' : 'warning', where: 'server side', text: `${unanswered} of ${syns} connection attempts got no SYN-ACK` });
  if (resets > 0) out.push({ severity: resets >= 10 ? 'warning' : 'info', where: 'application', text: `${resets} TCP resets` });
  for (const kind of ['DNS', 'HTTP']) {
    const rows = d.l7.filter((r) => r.kind.startsWith(kind));
    const n = rows.reduce((a, r) => a + r.count, 0);
    if (n === 0) continue;
    const errors = rows.reduce((a, r) => a + r.errors, 0);
    const answered = rows.filter((r) => r.avgMs !== null);
    const c = answered.reduce((a, r) => a + r.count, 0);
    const avg = c > 0 ? answered.reduce((a, r) => a + r.avgMs! * r.count, 0) / c : null;
    out.push({ severity: errors > 0 ? 'warning' : 'info', where: 'application',
      text: `${kind}: ${n} answers${avg !== null ? `, mean latency ${f1(avg)} ms` : ''}${errors > 0 ? `, ${errors} errors or unanswered` : ''}` });
  }
  const open = d.alerts.filter((a) => a.state !== 'resolved');
  if (open.length > 0) {
    out.push({ severity: open.some((a) => a.severity === 'critical') ? 'critical' : 'warning', where: 'alerts', text: `${open.length} open alert${open.length > 1 ? 's' : ''} for this pair` });
  }
  if (out.length === 0) out.push({ severity: 'info', where: 'pair', text: 'no RTT, loss, handshake or application problem in this range' });
  const rank = { critical: 0, warning: 1, info: 2 };
  return out.sort((p, q) => rank[p.severity] - rank[q.severity]);
}
