/**
 * State per concurrent flow in one aggregate+metrics worker (the fused task, records already
 * decoded): N TCP connections (handshake, a request, its response and ACKs, TCP timestamps on)
 * all open at once, measured twice:
 *   - "in a window": every flow has its open window accumulators (aggregate + metrics) and its
 *     connection state;
 *   - "between windows": the windows closed, the (idle, still open) connection states remain.
 * For each: heap per flow (V8 heap after full GC, minus the heap before) with the stage's default
 * packing (hotEntries) and with everything kept as objects (the reference), and changelog bytes
 * per flow (what the state costs in Kafka) with the compact serdes vs structured clone.
 *
 *   node --expose-gc --import tsx bench/state.ts [--flows 200000]     (npm run bench:state)
 */
import v8 from 'node:v8';
import { emptyPacketSummary, type PacketSummary } from '../schemas/types';
import { Task } from '../pipelines/runtime/task';
import { GlobalTable } from '../pipelines/runtime/global-table';
import { ComponentMetrics } from '../lib/metrics';
import { logger } from '../lib/log';
import { fuseStages } from '../pipelines/runtime/fuse';
import { aggregateStage, type AggregatePacket } from '../pipelines/stages/aggregate';
import { metricsStage, type MetricsPacket } from '../pipelines/stages/metrics';
import type { StageDefinition } from '../pipelines/runtime/types';

const arg = (n: string, d: number) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? Number(process.argv[i + 1]) : d; };
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) { console.error('run with node --expose-gc (npm run bench:state does)'); process.exit(2); }

const T0 = 1_700_000_000n * 1_000_000_000n;
const SYN = 2, ACK = 16, PSH = 8;

/** packet j of flow i: client 10.x.y.z:port -> server 10.200.0.(i%50):443 */
function packet(i: number, j: number, spreadNs: bigint, n: number): PacketSummary {
  const ts = T0 + (spreadNs * BigInt(i)) / BigInt(n) + BigInt(j) * 200_000n;
  const client = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, server = `10.200.0.${i % 50}`;
  const fromClient = j % 2 === 0;
  const [flags, seq, ack, len] = [
    [SYN, 1000, 0, 0], [SYN | ACK, 5000, 1001, 0], [ACK, 1001, 5001, 0], [ACK | PSH, 1001, 5001, 300], [ACK | PSH, 5001, 1301, 1200], [ACK, 1301, 6201, 0],
  ][j] as number[];
  return { ...emptyPacketSummary(), ts_ns: ts, observation_point: 'bench', ip_version: 4, ip_proto: 6,
    src_ip: fromClient ? client : server, dst_ip: fromClient ? server : client, src_port: fromClient ? 40000 + (i % 20000) : 443, dst_port: fromClient ? 443 : 40000 + (i % 20000),
    wire_len: 66 + len, cap_len: 66 + len, l4_payload_len: len, tcp_flags: flags, tcp_seq: BigInt(seq), tcp_ack: BigInt(ack), tcp_window: 502,
    tcp_ts_val: BigInt(100 + j), tcp_ts_ecr: j === 0 ? 0n : BigInt(99 + j) };
}

function heap(): number { gc!(); gc!(); return process.memoryUsage().heapUsed; }

interface Measure { heapPerFlow: number; compactPerFlow: number; clonePerFlow: number; hot: number; packed: number; byStore: string }

function measure(task: Task<PacketSummary>, base: number, n: number): Measure {
  let compact = 0, clone = 0, hot = 0, packed = 0;
  const byStore: string[] = [];
  for (const [name, s] of task.stores) {
    let keys = 0, values = 0;
    for (const [k, v] of s.entries()) { const b = s.encode(v).length; keys += k.length; values += b; compact += k.length + b; clone += k.length + v8.serialize(v).length; }
    if (s.size > 1) byStore.push(`${name} ${Math.round(keys / s.size)}+${Math.round(values / s.size)} B`);
    hot += s.counts.hot; packed += s.counts.packed;
  }
  return { heapPerFlow: (heap() - base) / n, compactPerFlow: compact / n, clonePerFlow: clone / n, hot, packed, byStore: byStore.join(', ') };
}

function run(n: number, hotEntries: number | undefined): { inWindow: Measure; between: Measure } {
  const hot = hotEntries === undefined ? {} : { hotEntries };
  // a PacketSummary holds every field the fused stage reads
  const def = fuseStages<AggregatePacket & MetricsPacket>([aggregateStage(hot), metricsStage(hot)]) as unknown as StageDefinition<PacketSummary>;
  const globals = new Map((def.globals ?? []).map((g) => [g.name, new GlobalTable<unknown>(g as never)]));
  const base = heap();
  const task = new Task(def, 0, new ComponentMetrics(`state-bench-${hotEntries}`), logger('state-bench'), globals);
  let off = 0n;
  // every 1024 records, what the exactly-once runner does at a commit: take the outputs and the
  // changed store entries (encoded for the changelog)
  const commit = () => { task.drain(); for (const s of task.stores.values()) for (const [, v] of s.takeChanges()) if (v !== undefined) s.encode(v); };
  const feed = (p: PacketSummary) => { task.process({ topic: 'in', partition: 0, offset: off++, key: null, value: p, timestampNs: BigInt(p.ts_ns) }); if ((off & 1023n) === 0n) commit(); };
  for (let i = 0; i < n; i++) for (let j = 0; j < 6; j++) feed(packet(i, j, 4_000_000_000n, n)); // all flows inside one 10 s window
  commit();
  task.punctuate(task.streamTimeNs + 1n); // a punctuation packs, as the next record's would
  commit();
  const inWindow = measure(task, base, n);
  // one packet 30 s later: the windows close (10 s + 5 s lateness), the connections stay (idle timeout 120 s)
  feed({ ...packet(n, 0, 0n, 1), ts_ns: T0 + 30_000_000_000n });
  commit();
  const between = measure(task, base, n);
  task.close();
  return { inWindow, between };
}

function main(): void {
  const n = arg('flows', 200_000);
  console.log(`${n.toLocaleString('en-US')} concurrent TCP flows in one aggregate+metrics task (6 packets each, TCP timestamps)`);
  const packedRun = run(n, undefined);
  const objects = run(n, Number.MAX_SAFE_INTEGER);
  const f = (x: number) => `${Math.round(x)} B`;
  for (const [label, key] of [['in a window (conn + 2 window accumulators)', 'inWindow'], ['between windows (connection state only)', 'between']] as const) {
    const p = packedRun[key], o = objects[key];
    console.log(`${label}:`);
    console.log(`  heap per flow, default packing:  ${f(p.heapPerFlow)}  (${p.hot} entries as objects, ${p.packed} packed)`);
    console.log(`  heap per flow, all objects:      ${f(o.heapPerFlow)}  -> packing uses ${(p.heapPerFlow / o.heapPerFlow).toFixed(2)}x`);
    console.log(`  changelog bytes per flow:        ${f(p.compactPerFlow)} compact Avro vs ${f(p.clonePerFlow)} structured clone (${(p.compactPerFlow / p.clonePerFlow).toFixed(2)}x), keys included`);
    console.log(`    per entry (key+value): ${p.byStore}`);
    console.log(`  1 M such flows: ~${(p.heapPerFlow * 1e6 / 2 ** 30).toFixed(2)} GiB heap (packed), ${(o.heapPerFlow * 1e6 / 2 ** 30).toFixed(2)} GiB (objects)`);
  }
}

main();
