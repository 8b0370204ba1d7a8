/**
 * Test support: the UDP payloads of the datagrams in a capture file, and a sender that replays
 * them as real datagrams, junk derived from them, and the decoding of packets-topic messages.
 * Used by the mirror and sflow tests (corpus replay).
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { readCapture } from '../../lib/pcap';
import { AvroCodec, SCHEMA_DIR } from '../../schemas';
import type { PacketSummary } from '../../schemas/types';

export interface CapturedDatagram { srcIp: string; dstPort: number; payload: Buffer; frame: number }

/** UDP payloads of IPv4/IPv6 (optionally VLAN-tagged) Ethernet frames; other frames are skipped. */
export async function udpPayloads(file: string, dstPort?: number): Promise<CapturedDatagram[]> {
  const out: CapturedDatagram[] = [];
  let frame = 0;
  for await (const rec of readCapture(file)) {
    frame++;
    const d = Buffer.from(rec.data);
    let o = 12;
    let type = d.readUInt16BE(o);
    while (type === 0x8100 || type === 0x88a8) { o += 4; type = d.readUInt16BE(o); }
    o += 2;
    let proto: number; let src: string; let l4: number; let end: number;
    if (type === 0x0800) {
      if ((d.readUInt16BE(o + 6) & 0x3fff) !== 0) continue; // fragments
      proto = d[o + 9];
      src = [...d.subarray(o + 12, o + 16)].join('.');
      l4 = o + (d[o] & 0x0f) * 4;
      end = o + d.readUInt16BE(o + 2);
    } else if (type === 0x86dd) {
      proto = d[o + 6];
      src = d.subarray(o + 8, o + 24).toString('hex').replace(/(.{4})(?!$)/g, '$1:');
      l4 = o + 40;
      end = l4 + d.readUInt16BE(o + 4);
    } else continue;
    if (proto !== 17) continue;
    const port = d.readUInt16BE(l4 + 2);
    if (dstPort !== undefined && port !== dstPort) continue;
    out.push({ srcIp: src, dstPort: port, payload: d.subarray(l4 + 8, Math.min(end, d.length)), frame });
  }
  return out;
}

/** Sends each payload as one datagram to host:port, pausing every `burst` datagrams so loopback never overflows. */
export async function sendDatagrams(payloads: Buffer[], host: string, port: number, burst = 64): Promise<void> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    for (let i = 0; i < payloads.length; i++) {
      await new Promise<void>((resolve, reject) => sock.send(payloads[i], port, host, (e) => (e ? reject(e) : resolve())));
      if ((i + 1) % burst === 0) await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    sock.close();
  }
}

export interface JunkOptions {
  /** seed of the generator: the same seed gives the same datagrams, so a failure reproduces */
  seed: number;
  count: number;
  /** bytes overwritten in a corrupted copy of a real datagram */
  flips: number;
  /** noise datagrams are 1..noiseMax bytes */
  noiseMax: number;
  /** shapes a noise datagram further (e.g. a plausible version word), drawing from the same generator */
  dressNoise?: (b: Buffer, rnd: (n: number) => number) => void;
}

/** Datagrams a receiver must survive: truncated and corrupted copies of `real`, and noise, in equal shares. */
export function junkDatagrams(real: Buffer[], o: JunkOptions): Buffer[] {
  let seed = o.seed;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const junk: Buffer[] = [];
  for (let i = 0; i < o.count; i++) {
    const base = real[rnd(real.length)];
    const kind = rnd(3);
    if (kind === 0) junk.push(base.subarray(0, rnd(base.length) + 1)); // truncated
    else if (kind === 1) { const b = Buffer.from(base); for (let k = 0; k < o.flips; k++) b[rnd(b.length)] = rnd(256); junk.push(b); } // bit rot
    else { const b = Buffer.alloc(rnd(o.noiseMax) + 1); for (let k = 0; k < b.length; k++) b[k] = rnd(256); o.dressNoise?.(b, rnd); junk.push(b); } // noise
  }
  return junk;
}

/** Polls until cond() holds or timeoutMs passes. */
export async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/**
 * The PacketSummary records in one message of a packets topic: a single-object
 * packet-summary.v1 message, or a packet-batch.v1 message (a batch of them) where that schema
 * exists, so the tests hold whichever the PacketPublisher writes.
 */
export function packetsInMessage(value: Buffer): PacketSummary[] {
  const single = new AvroCodec<PacketSummary>('packet-summary.v1');
  if (value.length >= 10 && value.readBigUInt64LE(2) === single.fingerprint) return [single.decode(value)];
  if (!fs.existsSync(path.join(SCHEMA_DIR, 'packet-batch.v1.avsc'))) return [single.decode(value)]; // throws AVRO_DECODE
  return new AvroCodec<{ records: PacketSummary[] }>('packet-batch.v1').decode(value).records;
}
