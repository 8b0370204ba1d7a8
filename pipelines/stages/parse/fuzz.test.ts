/**
 * Property test: mutated payload prefixes never make a parser or the stage throw.
 * Seeds are hand-built DNS/HTTP/TLS payloads plus the DNS/HTTP/TLS payloads of the corpus
 * captures (when ../shared/pcaps is there), mutated by a seeded PRNG (bit flips, byte
 * overwrites, truncation, length fields set to extremes, insertions, deletions, splices).
 * Reproduce a failure with the printed seed: PARSE_FUZZ_SEED=<seed> PARSE_FUZZ_ITERATIONS=<n>.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readCapture } from '../../../lib/pcap';
import { decodeFrame } from '../../../lib/decode';
import type { L7Event } from '../../../schemas/l7-event';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { parseStage } from '.';
import { parseDnsMessage, parseDnsTcp } from './dns';
import { httpStart, parseHttpHead } from './http';
import { parseTlsHello, tlsHelloStart } from './tls';
import { dnsMsg, httpReq, httpRes, pkt, tcpDns, tlsHello } from './fixtures';
import { prng } from '../../../test/support/prng';

const CORPUS = path.resolve(__dirname, '../../../../shared/pcaps');
const SEED = Number(process.env.PARSE_FUZZ_SEED ?? 0x5eed17);
const ITERATIONS = Number(process.env.PARSE_FUZZ_ITERATIONS ?? 100_000);
const STAGE_ITERATIONS = Math.min(ITERATIONS, 20_000);
const FILES = ['tcpdump_dns_udp.pcap', 'tcpdump_dns_tcp.pcap', 'ndpi_1kxun.pcap', 'zeek_http-bro.org.pcap', 'zeek_tls-tls12-decryption.pcap', 'ndpi_dingtalk.pcap'];


async function seeds(): Promise<Buffer[]> {
  const out: Buffer[] = [
    dnsMsg(1, 'www.example.com', { answers: 2, response: true }), tcpDns(dnsMsg(2, 'a.b'), dnsMsg(3, 'c.d', { response: true })),
    tlsHello(1, { sni: 'x.example', alpn: ['h2', 'http/1.1'], versions: [0x0a0a, 0x0304, 0x0303] }), tlsHello(2, { versions: [0x0304], alpn: ['h2'] }),
    httpReq('/index.html?q=1'), httpRes(200, 'body'), Buffer.concat([httpReq('/a'), httpReq('/b')]), Buffer.from('NOTIFY * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\n\r\n'),
  ];
  if (!fs.existsSync(CORPUS)) return out;
  for (const f of FILES) {
    const file = path.join(CORPUS, f);
    if (!fs.existsSync(file)) continue;
    for await (const rec of readCapture(file)) {
      const p = decodeFrame(rec, { observationPoint: 'fuzz', payloadPrefix: () => 512 });
      const b = p.payload_prefix;
      if (b && b.length > 0 && (tlsHelloStart(b, b.length) || httpStart(b, b.length) !== null || p.src_port === 53 || p.dst_port === 53)) out.push(b);
    }
  }
  return out;
}

function mutate(rand: () => number, seedsList: Buffer[]): Buffer {
  const src = seedsList[Math.floor(rand() * seedsList.length)];
  let b = Buffer.from(src);
  const n = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < n; k++) {
    const op = Math.floor(rand() * 7);
    const i = b.length ? Math.floor(rand() * b.length) : 0;
    switch (op) {
      case 0: if (b.length) b[i] ^= 1 << Math.floor(rand() * 8); break;
      case 1: if (b.length) b[i] = Math.floor(rand() * 256); break;
      case 2: b = b.subarray(0, Math.floor(rand() * (b.length + 1))); break;
      case 3: if (b.length >= 2) { const v = [0, 0xffff, 0xc000, 0x3fff, 1][Math.floor(rand() * 5)]; b.writeUInt16BE(v, Math.min(i, b.length - 2)); } break;
      case 4: b = Buffer.concat([b.subarray(0, i), Buffer.from([Math.floor(rand() * 256), 0xc0, 0x0c]), b.subarray(i)]); break;
      case 5: b = Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + Math.floor(rand() * 8)))]); break;
      case 6: { const o = seedsList[Math.floor(rand() * seedsList.length)]; b = Buffer.concat([b.subarray(0, i), o.subarray(Math.floor(rand() * o.length))]); break; }
    }
  }
  return b;
}

describe('parse stage fuzz', function () {
  this.timeout(600_000);
  let corpus: Buffer[] = [];
  before(async () => { corpus = await seeds(); });

  it(`${ITERATIONS} mutated payload prefixes through every parser without an exception (seed ${SEED})`, () => {
    const rand = prng(SEED);
    let parsed = 0;
    for (let it = 0; it < ITERATIONS; it++) {
      const b = mutate(rand, corpus);
      // the segment may be longer than the prefix (cut), or (bogus) shorter
      const full = rand() < 0.7 ? b.length + Math.floor(rand() * 2000) : Math.floor(rand() * (b.length + 1));
      try {
        const d = parseDnsMessage(b, 0, b.length, full);
        const t = parseDnsTcp(b, b.length, full);
        const h = parseHttpHead(b, b.length, full, 1 + Math.floor(rand() * 300));
        const s = parseTlsHello(b, b.length, full);
        httpStart(b, b.length); tlsHelloStart(b, b.length);
        if (d.ok) { parsed++; assert.ok(d.value.qname === null || typeof d.value.qname === 'string'); }
        if (h.ok) { parsed++; assert.ok(h.value.path === null || h.value.path.length <= 300 * 4); }
        if (s.ok) { parsed++; assert.ok(Array.isArray(s.value.supportedVersions)); }
        parsed += t.messages.length;
      } catch (e) {
        assert.fail(`iteration ${it} (PARSE_FUZZ_SEED=${SEED}) threw on ${b.toString('hex')} full=${full}: ${(e as Error).stack}`);
      }
    }
    assert.ok(parsed > ITERATIONS / 10, `mutations still parse often enough to reach deep code (${parsed})`);
  });

  it(`${STAGE_ITERATIONS} mutated packets through the stage: no internal error, every event encodes as L7Event`, () => {
    const rand = prng(SEED ^ 0x9e3779b9);
    const d = new TopologyTestDriver(parseStage({ expiryScanMs: 10 }));
    const ports = [53, 80, 443, 1900, 8080, 5353];
    let events = 0;
    for (let it = 0; it < STAGE_ITERATIONS; it++) {
      const b = mutate(rand, corpus);
      if (b.length === 0) continue;
      const proto = rand() < 0.6 ? 6 : 17;
      const port = ports[Math.floor(rand() * ports.length)];
      const client = 40000 + Math.floor(rand() * 4);
      const toServer = rand() < 0.5;
      const p = pkt(100 + it / 1000, toServer ? '10.0.0.2' : '10.0.0.1', toServer ? client : port, toServer ? '10.0.0.1' : '10.0.0.2', toServer ? port : client, proto as 6 | 17, b,
        { l4_payload_len: b.length + (rand() < 0.3 ? Math.floor(rand() * 3000) : 0), tcp_seq: Math.floor(rand() * 2 ** 32), tcp_ack: Math.floor(rand() * 2 ** 32), tcp_flags: rand() < 0.9 ? 0x18 : 0x04 });
      d.pipeInput('k', p);
      events += d.readOutput<L7Event>('tapline.l7.v1').length; // decoding proves the records conform to the schema
    }
    d.endOfStream();
    events += d.readOutput<L7Event>('tapline.l7.v1').length;
    assert.equal(d.metrics.errorsByCode.get('parse-internal'), undefined);
    assert.ok(events > STAGE_ITERATIONS / 10, `events: ${events}`);
  });
});
