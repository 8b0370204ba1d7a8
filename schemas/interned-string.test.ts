/** The cached string reader returns exactly what avsc's own reader does, whatever the cache holds. */
import assert from 'node:assert/strict';
import avro from 'avsc';
import { InternedString } from './interned-string';
import { prng } from '../test/support/prng';

const schema = { type: 'record', name: 'R', fields: [{ name: 's', type: 'string' }, { name: 'n', type: ['null', 'string'] }] } as avro.Schema;
const plain = avro.Type.forSchema(schema);
const cached = avro.Type.forSchema(schema, { registry: { string: InternedString } as never });

describe('interned string reader', () => {
  it('reads what avsc reads for 100 000 values: repeats, collisions, cache replacement, multibyte and long strings', () => {
    const rnd = prng(7);
    const alphabet = ['a', 'b', '1', '.', ':', 'é', 'ü', '中', '🙂'];
    const pool: string[] = [''];
    for (let i = 0; i < 20_000; i++) {
      const len = Math.floor(rnd() * (rnd() < 0.05 ? 80 : 20));
      let s = '';
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * (rnd() < 0.8 ? 5 : alphabet.length))];
      pool.push(s);
    }
    for (let i = 0; i < 100_000; i++) {
      const s = pool[rnd() < 0.5 ? Math.floor(rnd() * 50) : Math.floor(rnd() * pool.length)];
      const rec = { s, n: rnd() < 0.3 ? null : pool[Math.floor(rnd() * pool.length)] };
      const buf = plain.toBuffer(rec);
      assert.deepEqual({ ...cached.fromBuffer(buf) }, { ...plain.fromBuffer(buf) }, `value ${i}: ${JSON.stringify(rec)}`);
    }
  });

  it('fails on truncated input as avsc does', () => {
    const buf = plain.toBuffer({ s: '192.168.100.200', n: 'x' });
    for (let cut = 1; cut < buf.length; cut++) {
      assert.throws(() => cached.fromBuffer(buf.subarray(0, cut)), `cut at ${cut}`);
      assert.throws(() => plain.fromBuffer(buf.subarray(0, cut)));
    }
  });
});
