import assert from 'node:assert/strict';
import { AvroCodec, schemaJson } from '../../../schemas';
import { L7_EVENT_SCHEMA, type L7Event } from '../../../schemas/l7-event';
import type { PacketSummary } from '../../../schemas/types';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { stageRegistry } from '../../registry';
import { parseStage, PENDING_STORE, type ParseConfig } from '.';
import { dnsMsg, httpReq, httpRes, pkt, tcpDns, tlsHello } from './fixtures';

const OUT = 'tapline.l7.v1';
const S = 1_000_000_000n;
const C = '10.0.0.2', SV = '10.0.0.1';

function driver(cfg: Partial<ParseConfig> = {}) {
  const d = new TopologyTestDriver(parseStage({ expiryScanMs: 1, ...cfg }));
  const send = (...ps: PacketSummary[]) => { for (const p of ps) d.pipeInput('k', p); return d.readOutput<L7Event>(OUT).map((o) => o.value); };
  return { d, send };
}

describe('parse stage (in-memory driver)', () => {
  it('is registered and its L7Event schema matches the TypeScript view', () => {
    assert.ok(stageRegistry().parse);
    const full: L7Event = {
      ts_ns: 1_700_000_000_123_456_789n, observation_point: 'op', flow_key: '17|a|1|b|2', ip_proto: 17, src_ip: 'a', src_port: 1, dst_ip: 'b', dst_port: 2,
      tunnel_id: 7n, kind: 'DNS_RESPONSE', truncated: true, request_ts_ns: 1n, latency_ns: 2n, retransmission: false,
      dns: { id: 1, is_response: true, opcode: 0, rcode: 3, tc: false, qname: 'x.org', qtype: 1, qclass: 1, question_count: 1, answer_count: 0, authority_count: 1, additional_count: 0 },
      http: { method: 'GET', host: 'h', path: '/', path_truncated: false, version: 'HTTP/1.1', status: 200, content_length: 5n },
      tls: { handshake_type: 1, record_version: 0x0301, legacy_version: 0x0303, supported_versions: [0x0304], version: 'TLS 1.3', sni: 's', alpn: ['h2'], cipher_suite: null },
    };
    const codec = new AvroCodec<L7Event>(L7_EVENT_SCHEMA);
    const j = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)));
    assert.deepEqual(j(codec.decode(codec.encode(full))), j(full));
    const fields = schemaJson(L7_EVENT_SCHEMA) as { fields: { name: string; type: unknown }[] };
    assert.deepEqual(Object.keys(full), fields.fields.map((f) => f.name));
    for (const sub of ['dns', 'http', 'tls'] as const) {
      const rec = (fields.fields.find((f) => f.name === sub)!.type as [string, { fields: { name: string }[] }])[1];
      assert.deepEqual(Object.keys(full[sub]!), rec.fields.map((f) => f.name), sub);
    }
  });

  it('DNS over UDP: query, response with latency matched by (flow, id), keyed by flow key', () => {
    const { d, send } = driver();
    const q = send(pkt(100, C, 40000, SV, 53, 17, dnsMsg(7, 'www.example.com')));
    const other = send(pkt(100.01, C, 40000, SV, 53, 17, dnsMsg(8, 'b.example.com')));
    const r = send(pkt(100.05, SV, 53, C, 40000, 17, dnsMsg(7, 'www.example.com', { response: true, answers: 2, rcode: 0 })));
    assert.equal(q[0].kind, 'DNS_QUERY');
    assert.equal(q[0].dns!.qname, 'www.example.com');
    assert.equal(other[0].dns!.id, 8);
    assert.equal(r[0].kind, 'DNS_RESPONSE');
    assert.equal(r[0].dns!.answer_count, 2);
    assert.equal(r[0].latency_ns, 50_000_000n);
    assert.equal(r[0].request_ts_ns, 100n * S);
    assert.equal(r[0].flow_key, '17|10.0.0.1|53|10.0.0.2|40000');
    assert.equal(r[0].src_ip, SV);
    assert.equal(d.store(PENDING_STORE).size, 1);
  });

  it('DNS: an unanswered query is emitted as DNS_UNANSWERED once its timeout passes in event time, and the store empties', () => {
    const { d, send } = driver({ dnsTimeoutMs: 2000 });
    send(pkt(100, C, 40000, SV, 53, 17, dnsMsg(7, 'lost.example')));
    assert.deepEqual(send(pkt(101.9, C, 40001, SV, 53, 17, dnsMsg(9, 'x.example'))).map((e) => e.kind), ['DNS_QUERY']);
    const out = send(pkt(102.0, '10.9.9.9', 1, '10.9.9.8', 2, 17, Buffer.from('not dns')));
    assert.deepEqual(out.map((e) => e.kind), ['DNS_UNANSWERED']);
    assert.equal(out[0].ts_ns, 102n * S);
    assert.equal(out[0].request_ts_ns, 100n * S);
    assert.equal(out[0].dns!.qname, 'lost.example');
    assert.equal(out[0].latency_ns, null);
    d.endOfStream();
    assert.deepEqual(d.readOutput<L7Event>(OUT).map((o) => [o.value.kind, o.value.dns!.id]), [['DNS_UNANSWERED', 9]]);
    assert.equal(d.store(PENDING_STORE).size, 0);
  });

  it('DNS: a repeated query within the retransmission window keeps the first timestamp and is flagged', () => {
    const { send } = driver();
    send(pkt(100, C, 40000, SV, 53, 17, dnsMsg(7, 'a.example')));
    const again = send(pkt(101, C, 40000, SV, 53, 17, dnsMsg(7, 'a.example')));
    const r = send(pkt(101.5, SV, 53, C, 40000, 17, dnsMsg(7, 'a.example', { response: true })));
    assert.equal(again[0].retransmission, true);
    assert.equal(r[0].latency_ns, 1_500_000_000n);
  });

  it('DNS: the same id after the retransmission window is a new query; the unanswered one is reported then', () => {
    const { send } = driver({ dnsRetransmitMs: 5000, dnsTimeoutMs: 10_000 });
    send(pkt(100, C, 40000, SV, 53, 17, dnsMsg(7, 'a.example')));
    const out = send(pkt(106, C, 40000, SV, 53, 17, dnsMsg(7, 'a.example')));
    assert.deepEqual(out.map((e) => [e.kind, e.ts_ns, e.request_ts_ns, e.retransmission]), [['DNS_UNANSWERED', 106n * S, 100n * S, false], ['DNS_QUERY', 106n * S, null, false]]);
    const [r] = send(pkt(106.5, SV, 53, C, 40000, 17, dnsMsg(7, 'a.example', { response: true })));
    assert.equal(r.latency_ns, 500_000_000n);
  });

  it('DNS over TCP: two-byte length prefixes, several messages per segment, continuation segments skipped', () => {
    const { send } = driver();
    const two = tcpDns(dnsMsg(1, 'one.example'), dnsMsg(2, 'two.example'));
    const q = send(pkt(100, C, 40000, SV, 53, 6, two, { tcp_seq: 1 }));
    assert.deepEqual(q.map((e) => [e.kind, e.dns!.qname]), [['DNS_QUERY', 'one.example'], ['DNS_QUERY', 'two.example']]);
    // a response split over two segments: the second carries no message start
    const resp = tcpDns(dnsMsg(2, 'two.example', { response: true, answers: 3 }));
    const r1 = send(pkt(100.2, SV, 53, C, 40000, 6, resp.subarray(0, 35), { tcp_seq: 1, l4_payload_len: 35 }));
    const r2 = send(pkt(100.21, SV, 53, C, 40000, 6, resp.subarray(35), { tcp_seq: 36 }));
    assert.equal(r1.length, 1);
    assert.equal(r1[0].truncated, true);
    assert.equal(r1[0].dns!.qname, 'two.example');
    assert.equal(r1[0].dns!.answer_count, 3);
    assert.equal(r1[0].latency_ns, 200_000_000n);
    assert.deepEqual(r2, []);
  });

  it('HTTP: pipelined requests are answered first-in first-out; 100 Continue answers nothing; retransmissions are skipped', () => {
    const { d, send } = driver();
    const a = httpReq('/a'), b = httpReq('/b', 'example.com');
    const reqs = send(pkt(100, C, 40000, SV, 80, 6, Buffer.concat([a, b]), { tcp_seq: 1 }));
    assert.deepEqual(reqs.map((e) => [e.kind, e.http!.method, e.http!.path, e.http!.host]), [['HTTP_REQUEST', 'GET', '/a', 'example.com'], ['HTTP_REQUEST', 'GET', '/b', 'example.com']]);
    assert.deepEqual(send(pkt(100.01, C, 40000, SV, 80, 6, Buffer.concat([a, b]), { tcp_seq: 1 })), []); // retransmission
    assert.equal(d.metrics.droppedByReason.get('tcp-retransmission'), 1);
    const cont = send(pkt(100.05, SV, 80, C, 40000, 6, Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'), { tcp_seq: 1 }));
    assert.equal(cont[0].http!.status, 100);
    assert.equal(cont[0].latency_ns, null);
    const body = 'HTTP/1.1 200 fake head inside a body';
    const r1 = httpRes(200, body);
    const x = send(pkt(100.1, SV, 80, C, 40000, 6, r1, { tcp_seq: 26 }));
    assert.equal(x.length, 1);
    assert.equal(x[0].http!.path, '/a');
    assert.equal(x[0].latency_ns, 100_000_000n);
    const r2 = httpRes(404);
    const y = send(pkt(100.3, SV, 80, C, 40000, 6, r2, { tcp_seq: 26 + r1.length }));
    assert.deepEqual(y.map((e) => [e.http!.status, e.http!.path, e.latency_ns]), [[404, '/b', 300_000_000n]]);
  });

  it('HTTP: a body segment that looks like a head is not parsed when the previous message length is known', () => {
    const { send } = driver();
    send(pkt(100, C, 40000, SV, 80, 6, httpReq('/'), { tcp_seq: 1 }));
    const body = 'HTTP/1.1 500 looks like a head'.padEnd(100, '.');
    const head = httpRes(200, body);
    const split = head.length - 100;
    const first = send(pkt(100.1, SV, 80, C, 40000, 6, head.subarray(0, split), { tcp_seq: 1, l4_payload_len: split }));
    const second = send(pkt(100.2, SV, 80, C, 40000, 6, head.subarray(split), { tcp_seq: 1 + split }));
    assert.equal(first[0].http!.status, 200);
    assert.deepEqual(second, []);
  });

  it('HTTP: a truncated prefix gives the fields before the cut, flagged; the path is cut at maxPathLen', () => {
    const { send } = driver({ maxPathLen: 8 });
    const req = httpReq('/a/very/long/path?x=1', 'example.com');
    const [e] = send(pkt(100, C, 40000, SV, 80, 6, req, { prefix: 40 }));
    assert.equal(e.truncated, true);
    assert.equal(e.http!.method, 'GET');
    assert.equal(e.http!.path, '/a/very/');
    assert.equal(e.http!.path_truncated, true);
    assert.equal(e.http!.version, 'HTTP/1.1');
    assert.equal(e.http!.host, null);
  });

  it('HTTP: a head longer than its segment (whole segment captured) is completed from the next one, stamped with the first', () => {
    const { send } = driver();
    const req = httpReq(`/${'x'.repeat(1500)}`, 'late.example');
    const a = send(pkt(100, C, 40000, SV, 80, 6, req.subarray(0, 1440), { tcp_seq: 1, l4_payload_len: 1440 }));
    assert.deepEqual(a, [], 'waits for the rest of the head');
    const [e] = send(pkt(100.001, C, 40000, SV, 80, 6, req.subarray(1440), { tcp_seq: 1441 }));
    assert.deepEqual([e.kind, e.http!.host, e.truncated, e.ts_ns], ['HTTP_REQUEST', 'late.example', false, 100n * S]);
    const [r] = send(pkt(100.1, SV, 80, C, 40000, 6, httpRes(200), { tcp_seq: 1 }));
    assert.equal(r.latency_ns, 100_000_000n);
  });

  it('HTTP: a waiting head is reported truncated when its continuation is missing or the peer answers', () => {
    const { send } = driver();
    const req = httpReq(`/${'y'.repeat(1500)}`, 'never.example');
    send(pkt(100, C, 40000, SV, 80, 6, req.subarray(0, 1440), { tcp_seq: 1, l4_payload_len: 1440 }));
    const out = send(pkt(100.2, SV, 80, C, 40000, 6, httpRes(400), { tcp_seq: 1 }));
    assert.deepEqual(out.map((e) => [e.kind, e.truncated, e.http!.host, e.http!.path_truncated]), [['HTTP_REQUEST', true, null, true], ['HTTP_RESPONSE', false, null, true]]);
    assert.equal(out[1].latency_ns, 200_000_000n);
  });

  it('HTTP: an unanswered request is emitted as HTTP_UNANSWERED after its timeout', () => {
    const { send } = driver({ httpTimeoutMs: 1000 });
    send(pkt(100, C, 40000, SV, 80, 6, httpReq('/slow'), { tcp_seq: 1 }));
    const out = send(pkt(101, '10.9.9.9', 1, '10.9.9.8', 2, 17, Buffer.from('x')));
    assert.deepEqual(out.map((e) => [e.kind, e.http!.path, e.request_ts_ns]), [['HTTP_UNANSWERED', '/slow', 100n * S]]);
  });

  it('TLS: ClientHello SNI, ALPN, supported_versions (1.3 reported as 1.3), ServerHello selected version and handshake latency', () => {
    const { send } = driver();
    const [ch] = send(pkt(100, C, 40000, SV, 443, 6, tlsHello(1, { sni: 'a.example', alpn: ['h2', 'http/1.1'], versions: [0x3a3a, 0x0304, 0x0303] }), { tcp_seq: 1 }));
    assert.equal(ch.kind, 'TLS_CLIENT_HELLO');
    assert.deepEqual([ch.tls!.sni, ch.tls!.alpn, ch.tls!.supported_versions, ch.tls!.legacy_version, ch.tls!.version, ch.truncated],
      ['a.example', ['h2', 'http/1.1'], [0x3a3a, 0x0304, 0x0303], 0x0303, 'TLS 1.3', false]);
    const [sh] = send(pkt(100.03, SV, 443, C, 40000, 6, tlsHello(2, { versions: [0x0304], alpn: ['h2'], cipher: 0x1302 }), { tcp_seq: 1 }));
    assert.deepEqual([sh.kind, sh.tls!.version, sh.tls!.cipher_suite, sh.tls!.alpn, sh.latency_ns], ['TLS_SERVER_HELLO', 'TLS 1.3', 0x1302, ['h2'], 30_000_000n]);
    // a ClientHello without supported_versions is its legacy version
    const [old] = send(pkt(101, C, 40001, SV, 443, 6, tlsHello(1, { sni: 'b.example', legacy: 0x0301 }), { tcp_seq: 1 }));
    assert.equal(old.tls!.version, 'TLS 1.0');
  });

  it('TLS: a ClientHello cut before its SNI is reported truncated with what was read', () => {
    const { send } = driver();
    const hello = tlsHello(1, { alpn: ['h2'], sni: 'cut.example' });
    const [e] = send(pkt(100, C, 40000, SV, 443, 6, hello, { prefix: 60, tcp_seq: 1 }));
    assert.equal(e.truncated, true);
    assert.equal(e.tls!.legacy_version, 0x0303);
    assert.equal(e.tls!.sni, null);
  });

  it('garbage never throws: failures are counted by reason and nothing is emitted', () => {
    const { d, send } = driver();
    assert.deepEqual(send(pkt(100, C, 40000, SV, 53, 17, Buffer.from([1, 2, 3]))), []);
    assert.deepEqual(send(pkt(100, C, 40000, SV, 53, 17, Buffer.concat([Buffer.alloc(12, 0xff), Buffer.from([0x80])]))), []);
    assert.deepEqual(send(pkt(100, C, 40001, SV, 443, 6, Buffer.from([22, 3, 1, 0, 1, 1, 0, 0, 0]), { tcp_seq: 1 })), []);
    assert.deepEqual(send(pkt(100, C, 40002, SV, 80, 6, Buffer.from('GET \r\n\r\n'), { tcp_seq: 1 })), []);
    assert.equal(d.metrics.errorsByCode.get('parse-dns-short-message'), 1);
    assert.equal(d.metrics.errorsByCode.get('parse-dns-bad-label-type'), 1);
    assert.equal(d.metrics.errorsByCode.get('parse-tls-bad-record-length'), 1);
    assert.equal(d.metrics.errorsByCode.get('parse-http-bad-request-line'), 1);
    assert.equal(d.metrics.errorsByCode.get('parse-internal'), undefined);
  });

  it('keeps at most maxPendingPerFlow requests per flow (the oldest is dropped and counted)', () => {
    const { d, send } = driver({ maxPendingPerFlow: 3 });
    for (let i = 0; i < 5; i++) send(pkt(100 + i / 1000, C, 40000, SV, 53, 17, dnsMsg(i, 'q.example')));
    const st = d.store<{ dns: unknown[] }>(PENDING_STORE);
    assert.equal([...st.values()][0].dns.length, 3);
    assert.equal(d.metrics.droppedByReason.get('dns-pending-overflow'), 2);
    const [r] = send(pkt(100.1, SV, 53, C, 40000, 17, dnsMsg(0, 'q.example', { response: true })));
    assert.equal(r.latency_ns, null, 'the dropped query is no longer matched');
  });

  it('a response whose requests were answered in bytes missing from the capture is not paired with them', () => {
    const { d, send } = driver();
    send(pkt(100, C, 40000, SV, 80, 6, httpReq('/lost'), { tcp_seq: 1, tcp_ack: 1, tcp_flags: 0x18 }));
    // the server's first captured segment starts 5000 bytes after the client's ack: a gap
    assert.deepEqual(send(pkt(100.5, SV, 80, C, 40000, 6, Buffer.from('more body'), { tcp_seq: 5001 })), []);
    const second = httpReq('/next');
    send(pkt(101, C, 40000, SV, 80, 6, second, { tcp_seq: 1 + httpReq('/lost').length }));
    const [r] = send(pkt(101.1, SV, 80, C, 40000, 6, httpRes(200), { tcp_seq: 5010 }));
    assert.equal(r.http!.path, '/next');
    assert.equal(r.latency_ns, 100_000_000n);
    assert.equal(d.metrics.droppedByReason.get('http-response-lost'), 1);
  });
});
