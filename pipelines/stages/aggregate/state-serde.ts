/**
 * Compact serde of the aggregate stage's window state (changelog records and packed entries):
 * Avro binary with zig-zag varints, the window start as epoch milliseconds (windows are whole
 * milliseconds) and first/last seen relative to it — ~70 B where structured clone takes ~300.
 * Internal to the stage's changelog, hence not in schemas/.
 */
import avro from 'avsc';
import type { StoreSerde } from '../../runtime/types';
import type { FlowState } from './aggregate';

const type = avro.Type.forSchema({
  type: 'record', name: 'AggWindow', fields: [
    { name: 'wms', type: 'long' }, { name: 'k', type: 'string' }, { name: 'op', type: 'string' },
    { name: 'proto', type: 'int' }, { name: 'a', type: 'string' }, { name: 'pa', type: 'int' }, { name: 'b', type: 'string' }, { name: 'pb', type: 'int' },
    { name: 'c', type: { type: 'array', items: 'long' }, doc: 'pab bab pba bba syn synack fin rst zwin bad' },
    { name: 'firstRel', type: 'long' }, { name: 'lastRel', type: 'long' },
  ],
} as avro.Schema, { registry: {} }); // avsc's number longs, not the project's BigInt long

const MS = 1_000_000n;

interface Rec { wms: number; k: string; op: string; proto: number; a: string; pa: number; b: string; pb: number; c: number[]; firstRel: number; lastRel: number }

export const flowStateSerde: StoreSerde<FlowState> = {
  encode: (s) => type.toBuffer({
    wms: Number(s.w / MS), k: s.k, op: s.op, proto: s.proto, a: s.a, pa: s.pa, b: s.b, pb: s.pb,
    c: [s.pab, s.bab, s.pba, s.bba, s.syn, s.synack, s.fin, s.rst, s.zwin, s.bad],
    firstRel: Number(s.first - s.w), lastRel: Number(s.last - s.w),
  } satisfies Rec),
  decode: (buf) => {
    const r = type.fromBuffer(buf) as Rec;
    const w = BigInt(r.wms) * MS;
    const [pab, bab, pba, bba, syn, synack, fin, rst, zwin, bad] = r.c;
    return { w, k: r.k, proto: r.proto, a: r.a, pa: r.pa, b: r.b, pb: r.pb, op: r.op, pab, bab, pba, bba, syn, synack, fin, rst, zwin, bad,
      first: w + BigInt(r.firstRel), last: w + BigInt(r.lastRel) };
  },
};
