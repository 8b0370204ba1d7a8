/**
 * sFlow version 5 datagram parser (https://sflow.org/sflow_version_5.txt), XDR big-endian.
 * Understood: flow samples (1) and expanded flow samples (3) with their raw packet header
 * records (1); counter samples (2) and expanded counter samples (4) with generic interface (1)
 * and ethernet (2) counter records. Every other sample/record is skipped by its length (and
 * counted). Counters the agent reports as unknown (all ones) become null. Any structural inconsistency (a length that runs past its container, a version
 * other than 5, an unknown address type) throws SflowParseError with a stable reason.
 */

import type { EthernetCounters, GenericInterfaceCounters as GenericIfCounters } from '../../schemas/interface-counters';

export type { EthernetCounters, GenericIfCounters };

export class SflowParseError extends Error {
  constructor(readonly reason: string, message: string) { super(message); }
}

export interface RawPacketHeader {
  /** sFlow header_protocol: 1 Ethernet, 11 IPv4, 12 IPv6, ... */
  protocol: number;
  frameLength: number;
  stripped: number;
  header: Buffer;
}

export interface FlowSample {
  kind: 'flow';
  expanded: boolean;
  sequence: number;
  sourceIdType: number;
  sourceIdIndex: number;
  samplingRate: number;
  samplePool: number;
  drops: number;
  input: number;
  output: number;
  headers: RawPacketHeader[];
  otherRecords: number;
}

export interface CounterSample {
  kind: 'counters';
  expanded: boolean;
  sequence: number;
  sourceIdType: number;
  sourceIdIndex: number;
  generic: GenericIfCounters | null;
  ethernet: EthernetCounters | null;
  otherRecords: number;
}

export interface SflowDatagram {
  agent: string;
  subAgentId: number;
  sequence: number;
  uptimeMs: number;
  samples: Array<FlowSample | CounterSample>;
  /** samples of other types or enterprises, skipped */
  otherSamples: number;
}

class Reader {
  constructor(readonly d: Buffer, public o: number, readonly end: number) {}
  need(n: number, what: string): void {
    if (this.o + n > this.end) throw new SflowParseError('truncated', `truncated ${what} at byte ${this.o} (need ${n}, have ${this.end - this.o})`);
  }
  u32(what: string): number { this.need(4, what); const v = this.d.readUInt32BE(this.o); this.o += 4; return v; }
  u64(what: string): bigint { this.need(8, what); const v = this.d.readBigUInt64BE(this.o); this.o += 8; return v; }
  bytes(n: number, what: string): Buffer { this.need(n, what); const b = this.d.subarray(this.o, this.o + n); this.o += n; return b; }
  /** a length-prefixed sub-structure: returns a reader over it and moves past it */
  sub(len: number, what: string): Reader {
    this.need(len, what);
    const r = new Reader(this.d, this.o, this.o + len);
    this.o += len;
    return r;
  }
}

function ipv6String(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // RFC 5952: compress the longest run (>= 2) of zero groups
  let best = -1; let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function address(r: Reader, what: string): string {
  const type = r.u32(`${what} type`);
  if (type === 1) return [...r.bytes(4, what)].join('.');
  if (type === 2) return ipv6String(r.bytes(16, what));
  throw new SflowParseError('bad-address-type', `unknown ${what} type ${type}`);
}

export function parseSflow(d: Buffer): SflowDatagram {
  const r = new Reader(d, 0, d.length);
  const version = r.u32('version');
  if (version !== 5) throw new SflowParseError('unsupported-version', `sFlow version ${version} is not supported (only 5)`);
  const agent = address(r, 'agent address');
  const subAgentId = r.u32('sub-agent id');
  const sequence = r.u32('sequence number');
  const uptimeMs = r.u32('uptime');
  const n = r.u32('sample count');
  const dg: SflowDatagram = { agent, subAgentId, sequence, uptimeMs, samples: [], otherSamples: 0 };
  for (let i = 0; i < n; i++) {
    const format = r.u32('sample format');
    const len = r.u32('sample length');
    const s = r.sub(len, `sample ${i} (${len} bytes)`);
    const enterprise = format >>> 12;
    const type = format & 0xfff;
    if (enterprise !== 0) { dg.otherSamples++; continue; }
    if (type === 1 || type === 3) dg.samples.push(flowSample(s, type === 3));
    else if (type === 2 || type === 4) dg.samples.push(counterSample(s, type === 4));
    else dg.otherSamples++;
  }
  return dg;
}

function sourceId(r: Reader, expanded: boolean): [number, number] {
  if (expanded) return [r.u32('source id type'), r.u32('source id index')];
  const v = r.u32('source id');
  return [v >>> 24, v & 0xffffff];
}

function flowSample(r: Reader, expanded: boolean): FlowSample {
  const sequence = r.u32('flow sample sequence');
  const [sourceIdType, sourceIdIndex] = sourceId(r, expanded);
  const samplingRate = r.u32('sampling rate');
  const samplePool = r.u32('sample pool');
  const drops = r.u32('drops');
  let input: number; let output: number;
  if (expanded) {
    r.u32('input format'); input = r.u32('input value');
    r.u32('output format'); output = r.u32('output value');
  } else {
    input = r.u32('input'); output = r.u32('output');
  }
  const n = r.u32('flow record count');
  const fs: FlowSample = { kind: 'flow', expanded, sequence, sourceIdType, sourceIdIndex, samplingRate, samplePool, drops, input, output, headers: [], otherRecords: 0 };
  for (let i = 0; i < n; i++) {
    const format = r.u32('flow record format');
    const len = r.u32('flow record length');
    const rec = r.sub(len, `flow record ${i}`);
    if (format !== 1) { fs.otherRecords++; continue; }
    const protocol = rec.u32('header protocol');
    const frameLength = rec.u32('frame length');
    const stripped = rec.u32('stripped');
    const hlen = rec.u32('header length');
    const header = rec.bytes(hlen, 'sampled header');
    fs.headers.push({ protocol, frameLength, stripped, header });
  }
  return fs;
}

function counterSample(r: Reader, expanded: boolean): CounterSample {
  const sequence = r.u32('counter sample sequence');
  const [sourceIdType, sourceIdIndex] = sourceId(r, expanded);
  const n = r.u32('counter record count');
  const cs: CounterSample = { kind: 'counters', expanded, sequence, sourceIdType, sourceIdIndex, generic: null, ethernet: null, otherRecords: 0 };
  for (let i = 0; i < n; i++) {
    const format = r.u32('counter record format');
    const len = r.u32('counter record length');
    const rec = r.sub(len, `counter record ${i}`);
    if (format === 1 && len >= 88) cs.generic = genericCounters(rec);
    else if (format === 2 && len >= 52) cs.ethernet = ethernetCounters(rec);
    else if (format === 1 || format === 2) throw new SflowParseError('short-counter-record', `counter record format ${format} is only ${len} bytes`);
    else cs.otherRecords++;
  }
  return cs;
}

const U32_UNKNOWN = 0xffffffff;
const U64_UNKNOWN = (1n << 64n) - 1n;

function genericCounters(r: Reader): GenericIfCounters {
  const u = (w: string) => r.u32(w);
  const c32 = (w: string): number | null => { const v = r.u32(w); return v === U32_UNKNOWN ? null : v; };
  const c64 = (w: string): bigint | null => { const v = r.u64(w); return v === U64_UNKNOWN ? null : v; };
  const if_index = u('ifIndex'); const if_type = u('ifType'); const if_speed = c64('ifSpeed');
  const if_direction = u('ifDirection'); const status = u('ifStatus');
  const in_octets = c64('ifInOctets');
  const in_ucast_pkts = c32('ifInUcastPkts'); const in_multicast_pkts = c32('ifInMulticastPkts'); const in_broadcast_pkts = c32('ifInBroadcastPkts');
  const in_discards = c32('ifInDiscards'); const in_errors = c32('ifInErrors'); const in_unknown_protos = c32('ifInUnknownProtos');
  const out_octets = c64('ifOutOctets');
  const out_ucast_pkts = c32('ifOutUcastPkts'); const out_multicast_pkts = c32('ifOutMulticastPkts'); const out_broadcast_pkts = c32('ifOutBroadcastPkts');
  const out_discards = c32('ifOutDiscards'); const out_errors = c32('ifOutErrors'); const promiscuous = u('ifPromiscuousMode') === 1;
  return {
    if_index, if_type, if_speed, if_direction, if_admin_up: (status & 1) !== 0, if_oper_up: (status & 2) !== 0,
    in_octets, in_ucast_pkts, in_multicast_pkts, in_broadcast_pkts, in_discards, in_errors, in_unknown_protos,
    out_octets, out_ucast_pkts, out_multicast_pkts, out_broadcast_pkts, out_discards, out_errors, promiscuous,
  };
}

function ethernetCounters(r: Reader): EthernetCounters {
  const u = (w: string): number | null => { const v = r.u32(w); return v === U32_UNKNOWN ? null : v; };
  return {
    alignment_errors: u('dot3StatsAlignmentErrors'), fcs_errors: u('dot3StatsFCSErrors'),
    single_collision_frames: u('dot3StatsSingleCollisionFrames'), multiple_collision_frames: u('dot3StatsMultipleCollisionFrames'),
    sqe_test_errors: u('dot3StatsSQETestErrors'), deferred_transmissions: u('dot3StatsDeferredTransmissions'),
    late_collisions: u('dot3StatsLateCollisions'), excessive_collisions: u('dot3StatsExcessiveCollisions'),
    internal_mac_transmit_errors: u('dot3StatsInternalMacTransmitErrors'), carrier_sense_errors: u('dot3StatsCarrierSenseErrors'),
    frame_too_longs: u('dot3StatsFrameTooLongs'), internal_mac_receive_errors: u('dot3StatsInternalMacReceiveErrors'),
    symbol_errors: u('dot3StatsSymbolErrors'),
  };
}
