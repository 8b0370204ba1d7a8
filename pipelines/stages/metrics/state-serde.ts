/**
 * Compact serdes for the metrics stage's stores (changelog records and packed cold entries).
 * Avro (avsc) binary: zig-zag varints make the small integers the state is made of — flags,
 * counters, relative sequence numbers and relative nanosecond times — one to five bytes each,
 * where structured clone spends 9 per number plus its object framing (716 B per connection).
 * These schemas are internal (state never leaves its changelog), so they live here, not in
 * schemas/; a changed layout needs a new changelog (group), like any Kafka Streams serde change.
 * Epoch nanoseconds (beyond 2^53) are split into milliseconds + the nanoseconds within; every
 * other time is relative and fits a double's integers.
 */
import avro from 'avsc';
import type { StoreSerde } from '../../runtime/types';
import type { ConnState } from './processor';
import type { DirState } from './tcp-state';
import type { WindowAcc } from './window';
import type { RttAcc } from './sketch';

const nums = { type: 'array', items: 'long' } as const;
// avsc's own long type (numbers, exact to 2^53), not the project's BigInt long: a separate registry.
const opts = { registry: {}, wrapUnions: false } as const;

const DIR = {
  type: 'record', name: 'Dir', fields: [
    { name: 'init', type: 'boolean' }, { name: 'base', type: 'long' }, { name: 'hi', type: 'long' },
    { name: 'holes', type: nums }, { name: 'out', type: nums }, { name: 'ackInit', type: 'boolean' },
    { name: 'lastAck', type: 'long' }, { name: 'lastWin', type: 'long' }, { name: 'ackedMaxT', type: 'long' },
    { name: 'tsv', type: nums }, { name: 'dsack', type: nums },
  ],
};

const connType = avro.Type.forSchema({
  type: 'record', name: 'Conn', fields: [
    { name: 't0ms', type: 'long' }, { name: 't0sub', type: 'int' }, { name: 'lastRel', type: 'long' },
    { name: 'a', type: DIR }, { name: 'b', type: 'Dir' },
    { name: 'hsv', type: nums, doc: 'handshake: synT synDir synCount synAckT synAckCount done rtt' },
    { name: 'icmp', type: nums },
    { name: 'prev', type: nums, doc: 'last RTT sample per kind, -1 = none (NaN in memory; samples are >= 0)' },
    { name: 'fin', type: 'int' }, { name: 'closed', type: 'boolean' },
  ],
} as avro.Schema, opts);

const MS = 1_000_000n;

function splitNs(ns: bigint): [number, number] { return [Number(ns / MS), Number(ns % MS)]; }
function joinNs(ms: number, sub: number): bigint { return BigInt(ms) * MS + BigInt(sub); }

interface ConnRec {
  t0ms: number; t0sub: number; lastRel: number; a: DirState; b: DirState; hsv: number[];
  icmp: number[]; prev: number[]; fin: number; closed: boolean;
}

export const connSerde: StoreSerde<ConnState> = {
  encode(c) {
    const [t0ms, t0sub] = splitNs(c.t0);
    const h = c.hs;
    const rec: ConnRec = {
      t0ms, t0sub, lastRel: Number(c.last - c.t0), a: c.d[0], b: c.d[1],
      hsv: [h.synT, h.synDir, h.synCount, h.synAckT, h.synAckCount, h.done ? 1 : 0, h.rtt],
      icmp: c.icmp, prev: c.prev.map((x) => (Number.isNaN(x) ? -1 : x)), fin: c.fin, closed: c.closed,
    };
    return connType.toBuffer(rec);
  },
  decode(buf) {
    const r = connType.fromBuffer(buf) as ConnRec;
    const t0 = joinNs(r.t0ms, r.t0sub);
    const v = r.hsv;
    return {
      t0, last: t0 + BigInt(r.lastRel), d: [r.a, r.b],
      hs: { synT: v[0], synDir: v[1], synCount: v[2], synAckT: v[3], synAckCount: v[4], done: v[5] === 1, rtt: v[6] },
      icmp: r.icmp, prev: r.prev.map((x) => (x < 0 ? NaN : x)), fin: r.fin, closed: r.closed,
    };
  },
};

const RTT = {
  type: 'record', name: 'Rtt', fields: [
    { name: 'n', type: 'long' }, { name: 'sum', type: 'double' }, { name: 'zero', type: 'long' },
    { name: 'keys', type: { type: 'array', items: 'int' } }, { name: 'counts', type: nums },
    { name: 'min', type: 'long' }, { name: 'max', type: 'long' }, { name: 'dsum', type: 'double' }, { name: 'dcount', type: 'long' },
  ],
};

const windowType = avro.Type.forSchema({
  type: 'record', name: 'Win', fields: [
    { name: 'wms', type: 'long' }, { name: 'k', type: 'string' }, { name: 'op', type: 'string' },
    { name: 'proto', type: 'int' }, { name: 'a', type: 'string' }, { name: 'pa', type: 'int' }, { name: 'b', type: 'string' }, { name: 'pb', type: 'int' },
    { name: 'firstRel', type: 'long' }, { name: 'lastRel', type: 'long' },
    { name: 'pkts', type: nums }, { name: 'bytes', type: nums }, { name: 'sec', type: nums },
    { name: 'rtt', type: { type: 'array', items: ['null', RTT] } },
    { name: 'client', type: 'int', doc: '-1 unknown, 0 B, 1 A' },
    { name: 'hsServer', type: ['null', 'long'] }, { name: 'hsClient', type: ['null', 'long'] }, { name: 'hsTotal', type: ['null', 'long'] },
    { name: 'tcp', type: ['null', { type: 'array', items: nums }] },
  ],
} as avro.Schema, opts);

interface WinRec {
  wms: number; k: string; op: string; proto: number; a: string; pa: number; b: string; pb: number;
  firstRel: number; lastRel: number; pkts: number[]; bytes: number[]; sec: number[]; rtt: (RttAcc | null)[];
  client: number; hsServer: number | null; hsClient: number | null; hsTotal: number | null; tcp: number[][] | null;
}


export const windowSerde: StoreSerde<WindowAcc> = {
  encode(w) {
    const rec: WinRec = {
      wms: Number(w.w / MS), k: w.k, op: w.op, proto: w.proto, a: w.a, pa: w.pa, b: w.b, pb: w.pb,
      firstRel: Number(w.first - w.w), lastRel: Number(w.last - w.w), pkts: w.pkts, bytes: w.bytes, sec: w.sec, rtt: w.rtt,
      client: w.clientIsA === null ? -1 : w.clientIsA ? 1 : 0, hsServer: w.hsServer, hsClient: w.hsClient, hsTotal: w.hsTotal, tcp: w.tcp,
    };
    return windowType.toBuffer(rec);
  },
  decode(buf) {
    const r = windowType.fromBuffer(buf) as WinRec;
    const w = BigInt(r.wms) * MS;
    return {
      w, k: r.k, op: r.op, proto: r.proto, a: r.a, pa: r.pa, b: r.b, pb: r.pb, first: w + BigInt(r.firstRel), last: w + BigInt(r.lastRel),
      pkts: r.pkts as [number, number], bytes: r.bytes as [number, number], sec: r.sec, rtt: r.rtt,
      clientIsA: r.client < 0 ? null : r.client === 1, hsServer: r.hsServer, hsClient: r.hsClient, hsTotal: r.hsTotal,
      tcp: r.tcp as [number[], number[]] | null,
    };
  },
};

