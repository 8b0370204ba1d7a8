/**
 * Decoder throughput vs softflowd and tcpdump on one large capture.
 *
 *   npx tsx bench/decode.ts [--packets 1000000] [--file some.pcap]
 *
 * Without --file it builds <tmpdir>/tapline-bench-<N>.pcap (reused on later runs) by repeating
 * every Ethernet frame of ../shared/pcaps (tunnels, VLAN/MPLS, IPv4/IPv6, TCP/UDP/ICMP/SCTP,
 * fragments, garbage) with monotonic timestamps until N packets, so all tools read the same file.
 * Reported: streaming read+decode, decode-only (records already in memory), decode+Avro encode,
 * `softflowd -d -r FILE -n 127.0.0.1:9` and `tcpdump -r FILE -w /dev/null` in packets/s.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readCapture, readCaptureBatches, type CaptureRecord } from '../lib/pcap';
import { decodeFrame, defaultPayloadPrefix } from '../lib/decode';
import { AvroCodec } from '../schemas';
import type { PacketSummary } from '../schemas/types';

const CORPUS = path.resolve(__dirname, '../../shared/pcaps');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function buildCapture(file: string, packets: number): Promise<void> {
  const frames: Buffer[] = [];
  for (const f of fs.readdirSync(CORPUS).sort()) {
    if (!/\.(pcap|pcapng|cap)$/.test(f)) continue;
    try {
      for await (const r of readCapture(path.join(CORPUS, f))) if (r.linkType === 1) frames.push(Buffer.from(r.data));
    } catch { /* corrupt corpus files: keep the frames before the damage */ }
  }
  if (frames.length === 0) throw new Error(`no Ethernet frames found in ${CORPUS}`);
  const out = fs.openSync(file + '.tmp', 'w');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16); hdr.writeUInt32LE(1, 20);
  fs.writeSync(out, hdr);
  const start = 1_700_000_000;
  let batch: Buffer[] = [];
  let batchLen = 0;
  for (let i = 0; i < packets; i++) {
    const d = frames[i % frames.length];
    const rh = Buffer.alloc(16);
    const us = i * 10; // 100 kpps of synthetic, monotonic time
    rh.writeUInt32LE(start + Math.floor(us / 1e6), 0); rh.writeUInt32LE(us % 1e6, 4);
    rh.writeUInt32LE(d.length, 8); rh.writeUInt32LE(d.length, 12);
    batch.push(rh, d);
    batchLen += 16 + d.length;
    if (batchLen > 8 << 20) { fs.writeSync(out, Buffer.concat(batch)); batch = []; batchLen = 0; }
  }
  fs.writeSync(out, Buffer.concat(batch));
  fs.closeSync(out);
  fs.renameSync(file + '.tmp', file);
  console.log(`built ${file}: ${packets} packets from ${frames.length} distinct corpus frames, ${(fs.statSync(file).size / 1e6).toFixed(1)} MB`);
}

function rate(n: number, ms: number): string {
  return `${Math.round(n / (ms / 1000)).toLocaleString('en-US')} pkt/s`;
}

function timeCmd(cmd: string, args: string[]): { ms: number; ok: boolean; err: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, ok: r.status === 0 && !r.error, err: (r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-2).join(' | ') };
}

async function main(): Promise<void> {
  const packets = Number(arg('packets') ?? 1_000_000);
  const file = arg('file') ?? path.join(os.tmpdir(), `tapline-bench-${packets}.pcap`);
  if (!fs.existsSync(file)) await buildCapture(file, packets);
  const opts = { observationPoint: 'bench', payloadPrefix: defaultPayloadPrefix };

  // 1. streaming read + decode, the connector's path
  let t0 = performance.now();
  let n = 0;
  let sink = 0;
  for await (const r of readCapture(file)) { sink += decodeFrame(r, opts).wire_len; n++; }
  const streamMs = performance.now() - t0;

  // 1b. the same with readCaptureBatches (one await per 4096 records)
  t0 = performance.now();
  for await (const batch of readCaptureBatches(file)) for (const r of batch) sink += decodeFrame(r, opts).wire_len;
  const batchMs = performance.now() - t0;

  // 2. decode only, records already in memory
  const recs: CaptureRecord[] = [];
  t0 = performance.now();
  for await (const r of readCapture(file)) recs.push(r);
  const readMs = performance.now() - t0;
  for (let i = 0; i < Math.min(100_000, recs.length); i++) sink += decodeFrame(recs[i], opts).cap_len; // warm-up
  let decodeMs = Infinity;
  for (let run = 0; run < 3; run++) {
    t0 = performance.now();
    for (let i = 0; i < recs.length; i++) sink += decodeFrame(recs[i], opts).cap_len;
    decodeMs = Math.min(decodeMs, performance.now() - t0);
  }

  // 3. decode + Avro single-object encoding (what is published to Kafka)
  const codec = new AvroCodec<PacketSummary>('packet-summary.v1');
  t0 = performance.now();
  for (let i = 0; i < recs.length; i++) sink += codec.encode(decodeFrame(recs[i], opts)).length;
  const avroMs = performance.now() - t0;

  // 4. reference tools on the same file
  // -d: stay in the foreground (otherwise softflowd forks, the parent returns at once and the
  // daemon idles after EOF); -p/-c: private pid/control files so parallel runs do not collide.
  // -c none: no control socket; softflowd 1.1.0 intermittently blocks in accept() on it in -r mode.
  const sfArgs = ['-d', '-r', file, '-n', '127.0.0.1:9', '-p', '/tmp/tlb-sf.pid', '-c', 'none'];
  const sf = timeCmd('softflowd', sfArgs);
  const td = timeCmd('tcpdump', ['-r', file, '-w', '/dev/null']);

  const N = recs.length;
  const pps = (ms: number) => N / (ms / 1000);
  console.log(`\ncapture: ${file} (${N} packets; checksum ${sink % 1000})`);
  console.log(`tapline read+decode (streaming)   ${rate(n, streamMs).padStart(20)}   ${(streamMs / 1000).toFixed(2)} s`);
  console.log(`tapline read+decode (batches)     ${rate(n, batchMs).padStart(20)}   ${(batchMs / 1000).toFixed(2)} s`);
  console.log(`tapline read only (streaming)     ${rate(N, readMs).padStart(20)}   ${(readMs / 1000).toFixed(2)} s`);
  console.log(`tapline decode only (best of 3)   ${rate(N, decodeMs).padStart(20)}   ${(decodeMs / 1000).toFixed(2)} s`);
  console.log(`tapline decode + Avro encode      ${rate(N, avroMs).padStart(20)}   ${(avroMs / 1000).toFixed(2)} s`);
  console.log(`softflowd ${sfArgs.join(' ')}\n                                  ${rate(N, sf.ms).padStart(20)}   ${(sf.ms / 1000).toFixed(2)} s${sf.ok ? '' : `  (exit != 0: ${sf.err})`}`);
  console.log(`tcpdump -r FILE -w /dev/null      ${rate(N, td.ms).padStart(20)}   ${(td.ms / 1000).toFixed(2)} s${td.ok ? '' : `  (exit != 0: ${td.err})`}`);
  console.log('\nratios (tapline / reference):');
  console.log(`  decode only        / softflowd  ${(pps(decodeMs) / pps(sf.ms)).toFixed(2)}x   (target >= 1.2x)`);
  console.log(`  read+decode        / softflowd  ${(pps(streamMs) / pps(sf.ms)).toFixed(2)}x`);
  console.log(`  read+decode batch  / softflowd  ${(pps(batchMs) / pps(sf.ms)).toFixed(2)}x`);
  console.log(`  decode+Avro        / softflowd  ${(pps(avroMs) / pps(sf.ms)).toFixed(2)}x`);
  console.log(`  decode only        / tcpdump    ${(pps(decodeMs) / pps(td.ms)).toFixed(2)}x`);
  console.log(`  read+decode        / tcpdump    ${(pps(streamMs) / pps(td.ms)).toFixed(2)}x`);
}

main().catch((e) => { console.error(e); process.exit(1); });
