import assert from 'node:assert/strict';
import { murmur2, partitionForKey } from './partition';

// kafkajs' Java-compatible implementation is the reference (it is tested against the Java client).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const reference = require('kafkajs/src/producer/partitioners/default/murmur2') as (k: string | Buffer) => number;

describe('murmur2 key partitioning', () => {
  it('equals the Java client\'s murmur2 (via kafkajs) on flow keys, odd lengths, non-ASCII and bytes', () => {
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', '6|10.0.2.15|55080|192.150.187.43|80', '17|fe80::1|546|ff02::1:2|547|t42',
      'l2|00:11:22:33:44:55|ff:ff:ff:ff:ff:ff', 'überflow', '端口镜像'];
    for (let i = 0; i < 2000; i++) keys.push(`6|10.${i % 256}.${(i * 7) % 256}.1|${i}|10.0.0.${i % 13}|${(i * 31) % 65536}`);
    for (const k of keys) {
      assert.equal(murmur2(k), reference(k), k);
      assert.equal(murmur2(Buffer.from(k)), reference(Buffer.from(k)), `bytes of ${k}`);
    }
  });

  it('spreads keys over partitions like Kafka does (positive modulo)', () => {
    assert.equal(partitionForKey('abc', 4), (reference('abc') & 0x7fffffff) % 4);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[partitionForKey(`flow-${i}`, 4)]++;
    for (const c of counts) assert.ok(c > 800 && c < 1200, counts.join(','));
  });
});
