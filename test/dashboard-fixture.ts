/**
 * Data for the dashboard tests and the API benchmark: the storage tests' demo data (real corpus
 * captures through the real aggregate, identify, vm-events and metrics stages, shifted so they
 * end just before now; test/support/demo-data.ts), plus what the dashboard shows and that loader
 * leaves out, produced the same way from the same packets: L7 events (parse stage) and alerts
 * (the detect-traffic detector on the identified flows). Every record comes out of a real stage
 * on the in-memory driver and goes in through the sink's own table specs.
 */
import type { Pool } from 'pg';
import { TopologyTestDriver } from '../pipelines/runtime/test-driver';
import { parseStage } from '../pipelines/stages/parse';
import { detectTrafficStage } from '../pipelines/stages/detect-traffic';
import { rekeyFlowsStage } from '../pipelines/stages/detect-rekey-flows';
import type { IdentifiedFlow } from '../schemas/identified-flow';
import path from 'node:path';
import { readAll } from '../lib/pcap';
import { decodeFrame, defaultPayloadPrefix } from '../lib/decode';
import { CORPUS } from '../pipelines/stages/metrics/reference';
import { DEMO_OBSERVATION_POINT, DEMO_REPLAYS, MIN_NS, insertRecords, loadDemoData, type DemoData } from './support/demo-data';
import type { PacketSummary } from '../schemas/types';
import type { L7Event } from '../schemas/l7-event';
import type { Alert } from '../schemas/alert';

export interface DashboardData extends DemoData { l7: L7Event[]; alerts: Alert[] }

/**
 * The detector's own code with a configuration sized for a demo of a few minutes of traffic
 * spread over two days (the defaults learn for an hour and need 5 minutes of warm-up per series).
 */
export const DEMO_DETECT_TRAFFIC = {
  externalPairs: true,
  baseline: { warmupWindows: 2 },
  defaults: { newPairLearningMs: 60_000, minBytesPerSec: 500, minScaleBytesPerSec: 50 },
};

/** Every state the detector emitted, in order; the alerts table keeps the latest per occurrence. */
export function detectAlertsForTest(d: DemoData): Alert[] { return detectAlerts(d); }

function detectAlerts(d: DemoData): Alert[] {
  // identify -> detect-rekey-flows (keyed by endpoint) -> detect-traffic, as on Kafka
  const rekey = new TopologyTestDriver(rekeyFlowsStage({}));
  const flows = [...d.identified].sort((a, b) => Number(BigInt(a.window_start_ns) - BigInt(b.window_start_ns)));
  for (const f of flows) rekey.pipeInput(f.flow_key, f);
  rekey.endOfStream();
  const det = new TopologyTestDriver(detectTrafficStage(DEMO_DETECT_TRAFFIC));
  for (const o of rekey.readOutput<IdentifiedFlow>(Object.keys(rekey.def.outputs)[0])) det.pipeInput(o.key, o.value);
  // No end-of-stream for the detector: a live pipeline does not end, so the alerts still active
  // at the end of the data stay open (end-of-stream would declare every condition clear).
  const out = Object.keys(det.def.outputs)[0];
  return det.readOutput<Alert>(out).map((o) => o.value);
}

/**
 * The demo packets were decoded without payload (the stages it feeds need none); the parse stage
 * needs the payload prefix a capture connector keeps, so the same captures are decoded again
 * with the connectors' default prefix policy and shifted exactly as demo-data shifts them.
 */
async function packetsWithPayload(anchor: Date): Promise<PacketSummary[]> {
  const anchorNs = BigInt(anchor.getTime()) * 1_000_000n;
  const out: PacketSummary[] = [];
  for (const r of DEMO_REPLAYS) {
    const recs = await readAll(path.join(CORPUS, r.capture));
    const ps = recs.map((rec) => decodeFrame(rec, { observationPoint: DEMO_OBSERVATION_POINT, payloadPrefix: defaultPayloadPrefix }));
    const first = ps.reduce((m, p) => (BigInt(p.ts_ns) < m ? BigInt(p.ts_ns) : m), BigInt(ps[0].ts_ns));
    const shift = anchorNs - BigInt(r.minutesBefore) * MIN_NS - first;
    for (const p of ps) out.push({ ...p, ts_ns: BigInt(p.ts_ns) + shift });
  }
  return out.sort((a, b) => (BigInt(a.ts_ns) < BigInt(b.ts_ns) ? -1 : BigInt(a.ts_ns) > BigInt(b.ts_ns) ? 1 : 0));
}

async function l7Events(d: DemoData): Promise<L7Event[]> {
  const packets = await packetsWithPayload(d.anchor);
  const p = new TopologyTestDriver(parseStage({}));
  for (let i = 0; i < packets.length; i += 256) p.pipeMessage('k', packets.slice(i, i + 256));
  p.endOfStream();
  const out = Object.keys(p.def.outputs)[0];
  return p.readOutput<L7Event>(out).map((o) => o.value);
}

export async function loadDashboardData(pool: Pool, anchor?: Date): Promise<DashboardData> {
  const d = await loadDemoData(pool, anchor);
  const l7 = await l7Events(d);
  const alerts = detectAlerts(d);
  await insertRecords(pool, 'l7_events', l7);
  // The sink upserts states in order (an older state never overwrites a newer one); insert the
  // latest state per occurrence into alerts and every state into alert_states, as it would.
  const latest = new Map<string, Alert>();
  for (const a of alerts) latest.set(a.id, a);
  await insertRecords(pool, 'alerts', [...latest.values()]);
  await insertRecords(pool, 'alerts', alerts); // alert_states: the history (alerts keeps the rows above)
  return { ...d, l7, alerts };
}
