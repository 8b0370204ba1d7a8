/**
 * The metrics stage's compact state serdes lose nothing: every connection and window state met
 * while processing real captures round-trips exactly, and a stage forced to keep ALL its state
 * packed (hotEntries 0: everything serialized at every punctuation) emits the same records.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { readAll } from '../../../lib/pcap';
import { decodeFrame } from '../../../lib/decode';
import type { PacketSummary } from '../../../schemas/types';
import { FLOW_METRICS_TOPIC } from '../../../schemas/flow-metrics';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { metricsStage, CONN_STORE, WINDOW_STORE, type MetricsConfig, type MetricsPacket } from '.';
import { connSerde, windowSerde } from './state-serde';
import type { ConnState } from './processor';
import type { WindowAcc } from './window';

const CORPUS = path.resolve(__dirname, '../../../../shared/pcaps');
const FILES = ['zeek_tcp-retransmit-fast009.pcap', 'zeek_http-206_example_b.pcap', 'ndpi_heuristic_tcp_ack_payload.pcap', 'zeek_icmp-5-pings.pcap', 'zeek_tls-tls12-decryption.pcap'];

/** plain data (avsc decodes records as instances of generated classes) */
const plain = <T>(x: T): T => v8.deserialize(v8.serialize(x));

async function packets(): Promise<PacketSummary[]> {
  const out: PacketSummary[] = [];
  for (const f of FILES) for (const r of await readAll(path.join(CORPUS, f))) out.push(decodeFrame(r, { observationPoint: 'serde-test' }));
  return out;
}

function drive(ps: PacketSummary[], cfg: Partial<MetricsConfig>, every?: (d: TopologyTestDriver<MetricsPacket>) => void): { out: string[]; d: TopologyTestDriver<MetricsPacket> } {
  const d = new TopologyTestDriver(metricsStage({ windowMs: 1000, allowedLatenessMs: 200, ...cfg }));
  ps.forEach((p, i) => { d.pipeInput('k', p); if (every && i % 5 === 0) every(d); });
  d.endOfStream();
  return { out: d.readOutput(FLOW_METRICS_TOPIC).map((r) => JSON.stringify(r.value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))), d };
}

describe('metrics stage: compact state serdes', function () {
  this.timeout(120_000);
  before(function () { if (!fs.existsSync(CORPUS)) throw new Error(`needs the corpus at ${CORPUS}`); });

  it('every connection and window state seen on real captures round-trips exactly, in fewer bytes than structured clone', async () => {
    let conns = 0, wins = 0, compact = 0, clone = 0;
    drive(await packets(), {}, (d) => {
      for (const c of d.store<ConnState>(CONN_STORE).values()) {
        const b = connSerde.encode(c);
        assert.deepStrictEqual(plain(connSerde.decode(b)), plain(c));
        conns++; compact += b.length; clone += v8.serialize(c).length;
      }
      for (const w of d.store<WindowAcc>(WINDOW_STORE).values()) {
        assert.deepStrictEqual(plain(windowSerde.decode(windowSerde.encode(w))), plain(w));
        wins++;
      }
    });
    assert.ok(conns > 100 && wins > 100, `checked ${conns} connection and ${wins} window states`);
    assert.ok(compact < clone / 2, `compact ${compact} B vs structured clone ${clone} B`);
  });

  it('a stage keeping all its state packed emits exactly the records of one keeping it as objects', async () => {
    const ps = await packets();
    const plain = drive(ps, { hotEntries: 1_000_000 });
    let packedSeen = 0;
    const packed = drive(ps, { hotEntries: 0 }, (d) => {
      const s = (d as unknown as { task(p: number): { stores: Map<string, { counts: { packed: number } }> } }).task(0).stores.get(CONN_STORE)!;
      packedSeen = Math.max(packedSeen, s.counts.packed);
    });
    assert.ok(plain.out.length > 50);
    assert.ok(packedSeen > 0, 'state was really held packed');
    assert.deepEqual(packed.out, plain.out);
  });
});
