/** Regression tests found in review: each failed before its fix. */
import assert from 'node:assert/strict';
import type { L7Event } from '../../../schemas/l7-event';
import type { PacketSummary } from '../../../schemas/types';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { parseStage, type ParseConfig } from '.';
import { pkt } from './fixtures';

const OUT = 'tapline.l7.v1';
const C = '10.0.0.2', SV = '10.0.0.1';

function driver(cfg: Partial<ParseConfig> = {}) {
  const d = new TopologyTestDriver(parseStage({ expiryScanMs: 1, ...cfg }));
  const send = (...ps: PacketSummary[]) => { for (const p of ps) d.pipeInput('k', p); return d.readOutput<L7Event>(OUT).map((o) => o.value); };
  return { d, send };
}

describe('parse stage: responses without a body', () => {
  it('HTTP: a response to HEAD (or 204/304) has no body even with Transfer-Encoding: chunked; the pipelined next response is parsed', () => {
    const { send } = driver();
    const req = (m: string, p: string) => `${m} ${p} HTTP/1.1\r\nHost: h\r\n\r\n`;
    send(pkt(100, C, 40000, SV, 80, 6, Buffer.from(req('HEAD', '/a') + req('GET', '/b') + req('GET', '/c')), { tcp_seq: 1 }));
    const res = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' // HEAD: no body
      + 'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n' // 304: no body
      + 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    const out = send(pkt(100.1, SV, 80, C, 40000, 6, Buffer.from(res), { tcp_seq: 1 }));
    assert.deepEqual(out.map((e) => [e.kind, e.http!.status, e.http!.path, e.latency_ns]),
      [['HTTP_RESPONSE', 200, '/a', 100_000_000n], ['HTTP_RESPONSE', 304, '/b', 100_000_000n], ['HTTP_RESPONSE', 200, '/c', 100_000_000n]]);
  });
});
