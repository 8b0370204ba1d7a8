/**
 * The benchmarks' packet capture: the corpus's zeek_echo-connections.pcap repeated with shifted
 * timestamps up to `packets` packets, built once per size in the temp directory (bench:publish
 * and bench:stages-kafka read the same file).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCapture } from '../lib/pcap';

const SOURCE = path.resolve(__dirname, '../../shared/pcaps/zeek_echo-connections.pcap');

export async function buildFile(packets: number): Promise<string> {
  const file = path.join(os.tmpdir(), `tapline-bench-publish-${packets}.pcap`);
  if (fs.existsSync(file)) return file;
  const recs: { ts: bigint; data: Buffer; wire: number }[] = [];
  for await (const r of readCapture(SOURCE)) recs.push({ ts: r.ts_ns, data: Buffer.from(r.data), wire: r.wireLen });
  const span = recs[recs.length - 1].ts - recs[0].ts + 1_000_000n;
  const fd = fs.openSync(`${file}.tmp`, 'w');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b23c4d, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6); hdr.writeUInt32LE(262144, 16); hdr.writeUInt32LE(1, 20);
  fs.writeSync(fd, hdr);
  const chunks: Buffer[] = [];
  for (let i = 0; i < packets; i++) {
    const r = recs[i % recs.length];
    const ts = r.ts + span * BigInt(Math.floor(i / recs.length));
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Number(ts / 1_000_000_000n), 0); h.writeUInt32LE(Number(ts % 1_000_000_000n), 4);
    h.writeUInt32LE(r.data.length, 8); h.writeUInt32LE(r.wire, 12);
    chunks.push(h, r.data);
    if (chunks.length > 20_000) { fs.writeSync(fd, Buffer.concat(chunks)); chunks.length = 0; }
  }
  fs.writeSync(fd, Buffer.concat(chunks));
  fs.closeSync(fd);
  fs.renameSync(`${file}.tmp`, file);
  return file;
}
