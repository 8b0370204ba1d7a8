/**
 * packetFlow caches flows (so the stores' keys are strings that keep their hash); whatever the
 * cache holds, every packet must get exactly the identity computed from scratch.
 */
import assert from 'node:assert/strict';
import { flowKeyOf, orderEndpoints, packetFlow, windowKey } from './flow-key';
import { prng } from '../test/support/prng';

type P = Parameters<typeof packetFlow>[0];
const pkt = (src: string, sport: number, dst: string, dport: number, extra: Partial<P> = {}): P =>
  ({ ip_proto: 6, src_ip: src, dst_ip: dst, src_port: sport, dst_port: dport, tunnel_id: null, observation_point: 'op', ...extra });

function expected(p: P) {
  const e = orderEndpoints(p.ip_proto ?? 0, p.src_ip!, p.src_port ?? 0, p.dst_ip!, p.dst_port ?? 0);
  const key = flowKeyOf(e, p.tunnel_id);
  return { e, key, pointKey: `${p.observation_point}|${key}` };
}

describe('flow key: packetFlow and its cache', () => {
  it('gives every packet the identity computed from scratch, with far more flows than cache slots', () => {
    const rnd = prng(20261129);
    const flows: P[] = [];
    for (let i = 0; i < 40_000; i++) {
      const ip = () => (rnd() < 0.3 ? `fd00::${Math.floor(rnd() * 65536).toString(16)}` : `10.${Math.floor(rnd() * 4)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`);
      const tun = rnd() < 0.5 ? null : rnd() < 0.5 ? BigInt(Math.floor(rnd() * 1e6)) : Math.floor(rnd() * 1e6);
      flows.push(pkt(ip(), Math.floor(rnd() * 65536), ip(), Math.floor(rnd() * 65536),
        { tunnel_id: tun, ip_proto: rnd() < 0.8 ? 6 : 17, observation_point: rnd() < 0.4 ? 'mirror-a' : rnd() < 0.7 ? 'mirror-b' : rnd() < 0.5 ? '镜像-ü' : 'tap\ud800' }));
    }
    for (let n = 0; n < 200_000; n++) {
      // a skewed mix (some flows hot, most cold), both directions
      const f = flows[rnd() < 0.5 ? Math.floor(rnd() * 100) : Math.floor(rnd() * flows.length)];
      const p = rnd() < 0.5 ? { ...f } : { ...f, src_ip: f.dst_ip, dst_ip: f.src_ip, src_port: f.dst_port, dst_port: f.src_port };
      const got = packetFlow(p), want = expected(p);
      assert.deepEqual({ e: got.e, key: got.key, pointKey: got.pointKey }, want, `packet ${n}`);
      const w = BigInt(n % 3) * 10n;
      assert.equal(windowKey(got, w), `${w}|${want.pointKey}`, `packet ${n}: window key`);
    }
  });

  it('tells apart flows the cheap slot hash cannot (same last address characters and ports)', () => {
    // the slot hash reads only the last 6 characters of each address: these two share a slot
    const a = pkt('10.1.2.3', 1000, '10.9.9.9', 80), b = pkt('11.1.2.3', 1000, '10.9.9.9', 80);
    for (let i = 0; i < 4; i++) {
      for (const p of [a, b, { ...a }, { ...b, tunnel_id: 7n }, { ...a, observation_point: 'other' }]) {
        const got = packetFlow({ ...p });
        assert.deepEqual({ e: got.e, key: got.key, pointKey: got.pointKey }, expected(p));
      }
    }
  });

  it('both directions share the window key, rebuilt when the window changes', () => {
    const fwd = packetFlow(pkt('192.0.2.1', 40000, '192.0.2.2', 443));
    const rev = packetFlow(pkt('192.0.2.2', 443, '192.0.2.1', 40000));
    assert.equal(fwd.e.srcIsA, true);
    assert.equal(rev.e.srcIsA, false);
    assert.equal(windowKey(fwd, 10n), `10|${fwd.pointKey}`);
    assert.equal(windowKey(rev, 10n), `10|${fwd.pointKey}`);
    assert.equal(windowKey(rev, 20n), `20|${fwd.pointKey}`);
    assert.equal(windowKey(fwd, 10n), `10|${fwd.pointKey}`);
  });
});
