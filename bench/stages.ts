/**
 * Summaries per second through the `aggregate` and `metrics` stages on the in-memory driver
 * (TopologyTestDriver: each message crosses the real Avro PacketBatch encode + decode, as from
 * Kafka, then the processor, then the output encode).
 *
 *   npx tsx bench/stages.ts [--copies 64] [--batch 512]
 *
 * Workload: the corpus's TCP and ICMP captures (HTTP, TLS, a bulk transfer with zero windows
 * and retransmissions, ...), each rebased to a common start and repeated `copies` times with a
 * tunnel id per copy (distinct flows) and a 0.37 s shift per copy, merged in time order. Also
 * printed: the cost of the Avro round trip alone (what the driver adds to every stage) and the
 * metrics stage's state per connection (structured-clone bytes, what the changelog stores).
 */
import path from 'node:path';
import v8 from 'node:v8';
import { readAll } from '../lib/pcap';
import { decodeFrame } from '../lib/decode';
import type { PacketSummary } from '../schemas/types';
import type { StageDefinition } from '../pipelines/runtime/types';
import { TopologyTestDriver } from '../pipelines/runtime/test-driver';
import { InputCodec } from '../pipelines/runtime/input-codec';
import { aggregateStage } from '../pipelines/stages/aggregate';
import { metricsStage, CONN_STORE, WINDOW_STORE } from '../pipelines/stages/metrics';

const CORPUS = path.resolve(__dirname, '../../shared/pcaps');
const FILES = ['zeek_http-206_example_b.pcap', 'zeek_http-bro.org.pcap', 'ndpi_heuristic_tcp_ack_payload.pcap', 'zeek_tls-tls12-decryption.pcap',
  'zeek_tcp-retransmit-fast009.pcap', 'zeek_icmp-5-pings.pcap', 'zeek_icmp-icmp6-ping.pcap'];
const arg = (n: string, d: number) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? Number(process.argv[i + 1]) : d; };

async function workload(copies: number): Promise<PacketSummary[]> {
  const T0 = 1_700_000_000n * 1_000_000_000n;
  const base: PacketSummary[] = [];
  for (const f of FILES) {
    const recs = await readAll(path.join(CORPUS, f));
    const first = recs[0].ts_ns;
    for (const r of recs) base.push(decodeFrame({ ...r, ts_ns: r.ts_ns - first + T0 }, { observationPoint: 'bench' }));
  }
  const out: PacketSummary[] = [];
  for (let c = 0; c < copies; c++) {
    const shift = BigInt(c) * 370_000_000n;
    for (const p of base) out.push({ ...p, ts_ns: BigInt(p.ts_ns) + shift, tunnel_id: BigInt(c) });
  }
  out.sort((a, b) => (a.ts_ns < b.ts_ns ? -1 : a.ts_ns > b.ts_ns ? 1 : 0));
  return out;
}

function batches(all: PacketSummary[], size: number): PacketSummary[][] {
  const out: PacketSummary[][] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size));
  return out;
}

function timeDriver(def: StageDefinition<PacketSummary>, bs: PacketSummary[][], probe?: (d: TopologyTestDriver<PacketSummary>) => void): { ms: number; outputs: number } {
  const d = new TopologyTestDriver(def);
  const t = process.hrtime.bigint();
  let outputs = 0;
  bs.forEach((b, i) => {
    d.pipeMessage('k', b);
    if (probe && i === bs.length >> 1) { const t1 = process.hrtime.bigint(); probe(d); (d as unknown as { probeNs: bigint }).probeNs = process.hrtime.bigint() - t1; }
  });
  d.endOfStream();
  const probeNs = (d as unknown as { probeNs?: bigint }).probeNs ?? 0n;
  const ms = Number(process.hrtime.bigint() - t - probeNs) / 1e6;
  for (const topic of Object.keys(def.outputs)) outputs += d.readOutput(topic).length;
  return { ms, outputs };
}

async function main(): Promise<void> {
  const copies = arg('copies', 64), size = arg('batch', 512);
  const all = await workload(copies);
  const bs = batches(all, size);
  const n = all.length;
  console.log(`workload: ${n} summaries (${FILES.length} captures x ${copies} copies), batches of ${size}`);

  const codec = new InputCodec<PacketSummary>(aggregateStage());
  const timeCodec = () => { const t = process.hrtime.bigint(); for (const b of bs) codec.decode(codec.encode(b)); return Number(process.hrtime.bigint() - t) / 1e6; };
  let state = '';
  const probe = (d: TopologyTestDriver<PacketSummary>) => {
    const conns = [...d.store(CONN_STORE).values()], wins = [...d.store(WINDOW_STORE).values()];
    const avg = (xs: unknown[]) => Math.round(xs.reduce<number>((s, x) => s + v8.serialize(x).length, 0) / Math.max(1, xs.length));
    state = `mid-run state: ${conns.length} connections, ~${avg(conns)} B each; ${wins.length} open window accumulators, ~${avg(wins)} B each (structured-clone bytes)`;
  };

  for (let round = 0; round < 2; round++) { // round 0 warms up the JIT
    const c = timeCodec();
    const agg = timeDriver(aggregateStage(), bs);
    const met = timeDriver(metricsStage(), bs, round === 1 ? probe : undefined);
    if (round === 0) continue;
    const rate = (ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en-US');
    console.log(`Avro PacketBatch encode+decode only: ${c.toFixed(0)} ms, ${rate(c)} summaries/s`);
    console.log(`aggregate: ${agg.ms.toFixed(0)} ms, ${rate(agg.ms)} summaries/s (${agg.outputs} records out)`);
    console.log(`metrics:   ${met.ms.toFixed(0)} ms, ${rate(met.ms)} summaries/s (${met.outputs} records out)`);
    console.log(`aggregate + metrics (each summary through both): ${rate(agg.ms + met.ms)} summaries/s`);
    console.log(`metrics without the driver's Avro round trip (estimate): ${rate(met.ms - c)} summaries/s`);
    console.log(state);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
