/**
 * Property tests: the decoder never throws on hostile input, and the reader only ever fails with
 * a TaplineError. Frames are real corpus frames mutated by a seeded PRNG (bit flips, truncation,
 * length-field corruption, link-type swaps), so any failure reproduces with the printed seed:
 *   FUZZ_SEED=<seed> FUZZ_ITERATIONS=<n> npx mocha test/decode-fuzz.test.ts
 * Without ../shared/pcaps a small set of built-in frames is used as the seed corpus.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { readCapture } from '../lib/pcap';
import { decodeFrame, DecodeStats, defaultPayloadPrefix } from '../lib/decode';
import { isTaplineError } from '../lib/errors';
import { AvroCodec } from '../schemas';
import type { PacketSummary } from '../schemas/types';
import { prng } from './support/prng';

const CORPUS = path.resolve(__dirname, '../../shared/pcaps');
const SEED = Number(process.env.FUZZ_SEED ?? 0x7a91e5);
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 3_000_000);
const LINK_TYPES = [0, 1, 101, 108, 113, 228, 229, 276];


interface Seed { linkType: number; data: Buffer }

async function seedFrames(): Promise<Seed[]> {
  const out: Seed[] = [];
  if (fs.existsSync(CORPUS)) {
    for (const f of fs.readdirSync(CORPUS).sort()) {
      if (!/\.(pcap|pcapng|cap)$/.test(f)) continue;
      let n = 0;
      try {
        for await (const r of readCapture(path.join(CORPUS, f))) {
          // Every frame of small files, a spread of the big ones: diversity, not volume.
          if (n++ % 50 !== 0 && n > 200) continue;
          out.push({ linkType: r.linkType, data: Buffer.from(r.data) });
        }
      } catch { /* corrupt corpus files: the frames before the damage are kept */ }
    }
  }
  if (out.length === 0) {
    // Minimal fallback: Ethernet/IPv4/TCP SYN with options, and Ethernet/IPv6/UDP.
    out.push({ linkType: 1, data: Buffer.from('ffffffffffff02000000000108004500003c1c4640004006b1e6c0a80001c0a800c7c35c0050a4f2b0b400000000a002faf0fe300000020405b40402080a0000a3a20000000001030307', 'hex') });
    out.push({ linkType: 1, data: Buffer.from('33330000000102000000000186dd600000000010114020010db80000000000000000000000012001' + '0db8000000000000000000000002003500350010abcd0000000000000000', 'hex') });
  }
  return out;
}

function mutate(src: Buffer, rnd: () => number): Buffer {
  const d = Buffer.from(src);
  const kind = Math.floor(rnd() * 5);
  const flips = 1 + Math.floor(rnd() * 8);
  if (kind === 0 || kind === 4) {
    for (let i = 0; i < flips && d.length; i++) d[Math.floor(rnd() * d.length)] ^= 1 << Math.floor(rnd() * 8);
  }
  if (kind === 1 || kind === 4) {
    // Header-region corruption: length, offset and type fields all live in the first ~80 bytes.
    for (let i = 0; i < flips && d.length; i++) {
      const at = Math.floor(rnd() * Math.min(d.length, 80));
      const r = rnd();
      d[at] = r < 0.3 ? 0 : r < 0.6 ? 0xff : Math.floor(rnd() * 256);
    }
  }
  if (kind === 2 || kind === 4 || rnd() < 0.2) return d.subarray(0, Math.floor(rnd() * (d.length + 1)));
  if (kind === 3) {
    // Single-byte "length" stomp followed by truncation at a header boundary.
    if (d.length) d[Math.floor(rnd() * Math.min(d.length, 64))] = Math.floor(rnd() * 256);
    return d.subarray(0, Math.min(d.length, 14 + Math.floor(rnd() * 60)));
  }
  return d;
}

describe('decoder fuzz: mutated corpus frames never throw', function () {
  this.timeout(180_000);

  it(`decodes ${ITERATIONS} mutated frames without throwing (seed ${SEED})`, async () => {
    const seeds = await seedFrames();
    assert.ok(seeds.length > 0);
    const rnd = prng(SEED);
    const stats = new DecodeStats();
    const codec = new AvroCodec<PacketSummary>('packet-summary.v1');
    const opts = { observationPoint: 'fuzz', payloadPrefix: defaultPayloadPrefix };
    const started = Date.now();
    for (let i = 0; i < ITERATIONS; i++) {
      const sd = seeds[Math.floor(rnd() * seeds.length)];
      const data = mutate(sd.data, rnd);
      const linkType = rnd() < 0.05 ? LINK_TYPES[Math.floor(rnd() * LINK_TYPES.length)] : sd.linkType;
      let s: PacketSummary;
      try {
        s = decodeFrame({ linkType, data, ts_ns: BigInt(i), wireLen: data.length, capLen: data.length }, opts, stats);
      } catch (e) {
        assert.fail(`iteration ${i} (seed ${SEED}) threw: ${(e as Error).stack}\nframe ${linkType}:${data.toString('hex')}`);
      }
      if (s.malformed === 'decoder-error') {
        assert.fail(`iteration ${i} (seed ${SEED}): internal decoder exception caught\nframe ${linkType}:${data.toString('hex')}`);
      }
      // The record must stay encodable (types and ranges right): sample it, Avro encoding is slow.
      if (i % 997 === 0) codec.encode(s);
    }
    const secs = (Date.now() - started) / 1000;
    console.log(`      ${ITERATIONS} frames from ${seeds.length} seeds in ${secs.toFixed(1)} s; malformed ${stats.malformedTotal}, unusable ${stats.unusable}`);
    console.log(`      by code: ${JSON.stringify(stats.toJSON().byCode)}`);
    assert.equal(stats.decoded, ITERATIONS);
  });

  it('reader fails only with TaplineError on mutated/cut capture files (2000 cases)', async () => {
    const files = fs.existsSync(CORPUS)
      ? ['tcpdump_dns_tcp.pcap', 'zeek_pcapng-multi-interface.pcapng', 'ndpi_sctp.cap', 'tcpdump_tcp-handshake-nano.pcap']
        .map((f) => path.join(CORPUS, f)).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f))
      : [];
    if (files.length === 0) return;
    const rnd = prng(SEED ^ 0x5eed);
    let failed = 0;
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.from(files[i % files.length]);
      const flips = Math.floor(rnd() * 6);
      for (let k = 0; k < flips; k++) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.5 ? buf.subarray(0, Math.floor(rnd() * buf.length)) : buf;
      try {
        // Feed in small random chunks so record/block boundaries straddle chunks.
        const chunks: Buffer[] = [];
        for (let o = 0; o < cut.length;) { const n = 1 + Math.floor(rnd() * 300); chunks.push(cut.subarray(o, o + n)); o += n; }
        for await (const r of readCapture(Readable.from(chunks))) decodeFrame(r, { observationPoint: 'fuzz' });
      } catch (e) {
        failed++;
        assert.ok(isTaplineError(e), `case ${i}: non-Tapline error ${(e as Error).stack}`);
        assert.ok(['PCAP_CORRUPT', 'PCAP_UNSUPPORTED'].includes(e.code), `case ${i}: ${e.code} ${e.message}`);
        assert.match(e.message, /offset \d+/, `case ${i}: error names no byte offset: ${e.message}`);
      }
    }
    console.log(`      2000 mutated files: ${failed} rejected with PCAP_CORRUPT/PCAP_UNSUPPORTED, none escaped`);
  });
});

describe('capture reader streams with bounded memory', () => {
  it('pulls input only as the consumer asks (a slow consumer pauses reading)', async () => {
    // 20,000 records of 1,000 bytes (~20 MB) offered in 64 KiB chunks by a counting stream.
    const hdr = Buffer.alloc(24);
    hdr.writeUInt32LE(0xa1b2c3d4, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6);
    hdr.writeUInt32LE(65535, 16); hdr.writeUInt32LE(1, 20);
    const rec = Buffer.alloc(16 + 1000);
    rec.writeUInt32LE(1000, 8); rec.writeUInt32LE(1000, 12);
    let produced = 0;
    const total = 20_000;
    let sent = 0;
    const stream = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        if (sent === 0) { this.push(hdr); }
        const n = Math.min(64, total - sent);
        if (n <= 0) { this.push(null); return; }
        const chunk = Buffer.concat(Array(n).fill(rec));
        produced += chunk.length;
        sent += n;
        this.push(chunk);
      },
    });
    let got = 0;
    for await (const r of readCapture(stream)) {
      void r;
      if (++got === 100) {
        // let the stream run ahead if it could; it must stay within its own small buffers
        await new Promise((res) => setTimeout(res, 50));
        assert.ok(produced < 1_000_000, `reader pulled ${produced} bytes ahead of a consumer at record 100`);
      }
    }
    assert.equal(got, total);
  });
});
