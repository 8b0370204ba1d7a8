import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { L7Event } from '../../../schemas/l7-event';
import { Chain, inventoryVm, S, states, vmRef } from '../../alerting/testing';
import { rekeyDnsStage } from '../detect-rekey-dns';
import { judgeName, shannonBits } from './names';
import { detectDnsStage } from '.';

const RESOLVER = '10.0.0.2';
const web = vmRef('web-1', '10.0.0.10', 'h1');
const bad = vmRef('bad-1', '10.0.0.66', 'h2', 'mallory');

let seq = 0;
function dns(client: string, sec: number, kind: 'DNS_QUERY' | 'DNS_RESPONSE', qname: string, rcode = 0, op = 'mon:h1', id = ++seq): L7Event {
  const port = 30000 + (id % 30000);
  const q = kind === 'DNS_QUERY';
  return {
    ts_ns: BigInt(Math.round(sec * 1000)) * 1_000_000n, observation_point: op, flow_key: `17|${client}|${port}|${RESOLVER}|53`, ip_proto: 17,
    src_ip: q ? client : RESOLVER, src_port: q ? port : 53, dst_ip: q ? RESOLVER : client, dst_port: q ? 53 : port, tunnel_id: null, kind,
    truncated: false, request_ts_ns: null, latency_ns: null, retransmission: false,
    dns: { id: id % 65536, is_response: !q, opcode: 0, rcode, tc: false, qname, qtype: 1, qclass: 1, question_count: 1, answer_count: rcode ? 0 : 1, authority_count: 0, additional_count: 0 },
    http: null, tls: null,
  };
}
/** A query and its answer. */
function ask(c: Chain<L7Event>, client: string, sec: number, qname: string, rcode = 0): void {
  const id = ++seq;
  c.push(dns(client, sec, 'DNS_QUERY', qname, 0, 'mon:h1', id));
  c.push(dns(client, sec + 0.01, 'DNS_RESPONSE', qname, rcode, 'mon:h1', id));
}
/** A 40-character label of encoded data, as a tunnel client makes them. */
const b32 = (i: number) => createHash('sha256').update(`chunk ${i}`).digest('base64').replace(/[=+/]/g, '').toLowerCase().slice(0, 40);

function chain(cfg: Record<string, unknown> = {}): Chain<L7Event> {
  const c = new Chain(rekeyDnsStage(), detectDnsStage(cfg));
  for (const v of [web, bad]) c.detector.pipeGlobal('inventory', v.vm!, inventoryVm(v));
  return c;
}
const tick = (p: number, sec: number) => dns(`192.0.2.${p}`, sec, 'DNS_QUERY', 'tick.example');

describe('detect-dns (driver, 4 partitions, behind detect-rekey-dns)', () => {
  it('names: entropy and verdicts', () => {
    assert.equal(shannonBits('aaaa'), 0);
    assert.equal(shannonBits('abcd'), 2);
    assert.equal(judgeName('www.example.com', 100, 24, 3.8).suspicious, false);
    assert.equal(judgeName('ec2-54-12-33-101.eu-west-1.compute.amazonaws.com', 100, 24, 3.8).suspicious, false);
    const t = judgeName(`${b32(1)}.t.evil.example`, 100, 24, 3.8);
    assert.equal(t.why, 'random-label', JSON.stringify(t));
    assert.equal(judgeName(`${'a'.repeat(60)}.${'b'.repeat(50)}.example`, 100, 24, 3.8).why, 'long-name');
  });

  it('normal lookups (some NXDOMAIN from search paths) raise nothing', () => {
    const c = chain();
    const names = ['db.internal', 'api.example.com', 'www.google.com', 'time.cloudflare.com', 'registry.npmjs.org'];
    for (let sec = 0; sec < 600; sec += 2) {
      ask(c, web.addr, sec, names[sec % names.length]);
      if (sec % 20 === 0) ask(c, web.addr, sec + 1, 'db.internal.svc.cluster.local', 3);
    }
    c.tick(700, tick);
    assert.deepEqual(states(c.alerts()), []);
  });

  it('an NXDOMAIN burst (DGA-like) opens one alert with sample names, resolved when it stops', () => {
    const c = chain();
    for (let i = 0; i < 40; i++) ask(c, bad.addr, 60 + i, `q${i}x7k2m.example`, 3);
    for (let i = 0; i < 10; i++) ask(c, bad.addr, 60 + i, 'www.example.com');
    for (let sec = 120; sec < 400; sec += 10) ask(c, bad.addr, sec, 'www.example.com');
    c.tick(500, tick);
    const got = c.alerts();
    assert.deepEqual(states(got), ['dns_nxdomain_burst open', 'dns_nxdomain_burst resolved']);
    assert.equal(got[0].dedup_key, 'dns_nxdomain_burst|mallory|bad-1');
    assert.equal(got[0].value, 40);
    assert.deepEqual([got[0].vm_a, got[0].addr_a, got[0].tenant, got[0].host_a], ['bad-1', '10.0.0.66', 'mallory', 'h2']);
    assert.match(got[0].evidence.names_sample, /^q0x7k2m\.example q1x7k2m/);
    assert.equal(got[0].evidence.resolvers, RESOLVER);
    assert.equal(got[1].updated_ns, 300n * S, 'breach in the window ending 120 s; clear windows ending 180, 240, 300 s (60 s windows)');
  });

  it('tunnelling: many high-entropy labels; the same DNS message seen by two monitors counts once', () => {
    const c = chain();
    for (let i = 0; i < 6; i++) {
      const id = ++seq;
      for (const op of ['mon:h1', 'mon:h2']) c.push(dns(bad.addr, 10 + i, 'DNS_QUERY', `${b32(i)}.t.evil.example`, 0, op, id));
    }
    c.tick(200, tick);
    assert.deepEqual(c.alerts(), [], '6 distinct queries (12 copies) are under 10');
    assert.equal(c.detector.metrics.droppedByReason.get('duplicate-observation'), 6);
    for (let i = 0; i < 25; i++) ask(c, bad.addr, 240 + i, `${b32(i)}.t.evil.example`);
    c.tick(600, tick);
    const got = c.alerts();
    assert.deepEqual(states(got), ['dns_tunnel_suspect open', 'dns_tunnel_suspect resolved']);
    assert.equal(got[0].value, 25);
    assert.equal(got[0].severity, 'warning');
    assert.ok(Number(got[0].evidence.max_entropy_bits) >= 3.8);
    assert.equal(got[0].evidence.names_sample.split(' ').length, 5);
  });

  it('warm-up is not needed (absolute limits); per-tenant override', () => {
    const c = chain({ overrides: [{ tenant: 'mallory', tunnelMinQueries: 100 }] });
    for (let i = 0; i < 25; i++) { ask(c, bad.addr, 10 + i, `${b32(i)}.t.evil.example`); ask(c, web.addr, 10 + i, `${b32(i)}.t.evil.example`); }
    c.tick(200, tick);
    assert.deepEqual(c.alerts().filter((a) => a.state === 'open').map((a) => a.dedup_key), ['dns_tunnel_suspect|acme|web-1']);
  });

  it('hysteresis: NXDOMAIN counts flapping around the limit are one alert', () => {
    const c = chain();
    [30, 18, 0, 25, 0, 0, 0, 0].forEach((n, k) => { for (let i = 0; i < n; i++) ask(c, bad.addr, k * 60 + i, `n${i}.example`, 3); });
    c.tick(600, tick);
    const got = c.alerts();
    assert.deepEqual(states(got), ['dns_nxdomain_burst open', 'dns_nxdomain_burst updated', 'dns_nxdomain_burst updated', 'dns_nxdomain_burst resolved']);
    assert.equal(new Set(got.map((a) => a.id)).size, 1);
  });
});

describe('detect-dns: review regressions', () => {
  it('an unanswered query (DNS_QUERY, then DNS_UNANSWERED from parse) is one query, not two', () => {
    const c = chain();
    for (let i = 0; i < 6; i++) {
      const id = ++seq;
      const q = dns(bad.addr, 10 + i, 'DNS_QUERY', `${b32(100 + i)}.t.evil.example`, 0, 'mon:h1', id);
      c.push(q);
      // parse reports the same query again once its timeout passed: same flow, id and name, request_ts_ns = the query's time
      c.push({ ...q, kind: 'DNS_UNANSWERED', ts_ns: BigInt(q.ts_ns) + 5n * S, request_ts_ns: q.ts_ns });
    }
    c.tick(200, tick);
    assert.deepEqual(states(c.alerts()), [], '6 distinct suspicious queries are under tunnelMinQueries (10)');
  });
});
