import assert from 'node:assert/strict';
import { InMemoryStore } from '../runtime/store';
import type { Alert } from '../../schemas/alert';
import { AlertLifecycle, LifecycleConfigSchema, type Breach } from './lifecycle';
import { BucketClock } from './buckets';
import { settingsFor } from './overrides';
import { END_OF_STREAM } from '../runtime/types';

const S = 1_000_000_000n;
const breach = (value: number, severity: Breach['severity'] = 'warning'): Breach => ({ type: 'rtt_threshold', subject: 't|a->b', severity, summary: 's', metric: 'rtt_avg_ms', value, threshold: 50 });

function lc(cfg: Record<string, unknown> = {}) {
  const out: Alert[] = [];
  const store = new InMemoryStore<never>('alerts');
  const l = new AlertLifecycle('test', store as never, LifecycleConfigSchema.parse(cfg), (a) => out.push(a));
  /** one window: breach with this value (null = clear) */
  const win = (sec: number, v: number | null, sev: Breach['severity'] = 'warning') => { if (v !== null) l.breach(BigInt(sec) * S, breach(v, sev)); l.endWindow(BigInt(sec) * S); };
  return { l, out, store, win };
}

describe('alert lifecycle', () => {
  it('open -> updated (material change, severity change, heartbeat) -> resolved; id stable', () => {
    const { out, store, win } = lc({ updateEveryWindows: 4 });
    win(10, 60); win(20, 61); win(30, 62); win(40, 63); win(50, 64); // heartbeat after 4 quiet windows
    win(60, 64, 'critical'); // severity
    win(70, 90); // +40 %
    win(80, null); win(90, null); win(100, null);
    assert.deepEqual(out.map((a) => `${a.state}@${Number(BigInt(a.updated_ns) / S)} ${a.value}`),
      ['open@10 60', 'updated@50 64', 'updated@60 64', 'updated@70 90', 'resolved@100 90']);
    assert.ok(out.every((a) => a.id === `rtt_threshold|t|a->b@${10n * S}`));
    assert.equal(out[4].last_seen_ns, 70n * S);
    assert.equal(out[4].evidence.clear_windows, '3');
    assert.equal(store.size, 0, 'a resolved alert leaves no state');
  });

  it('openAfterWindows: a single breaching window opens nothing and is forgotten', () => {
    const { out, store, win } = lc({ openAfterWindows: 2 });
    win(10, 60); win(20, null);
    assert.equal(out.length, 0);
    assert.equal(store.size, 0);
    win(30, 60); win(40, 60);
    assert.deepEqual(out.map((a) => a.state), ['open']);
    assert.equal(out[0].first_seen_ns, 30n * S, 'the occurrence started with its first breaching window');
  });

  it('a new occurrence after resolution gets a new id; a second report in the same window is ignored', () => {
    const { l, out, win } = lc({ resolveAfterClearWindows: 1 });
    win(10, 60); win(20, null); win(30, 70);
    l.breach(30n * S, breach(500));
    assert.deepEqual(out.map((a) => a.state), ['open', 'resolved', 'open']);
    assert.notEqual(out[0].id, out[2].id);
    assert.equal(out[2].value, 70);
  });

  it('non-finite values are capped (consumers read JSON and SQL)', () => {
    const { out, win } = lc();
    win(10, Infinity);
    assert.equal(out[0].value, Number.MAX_VALUE);
  });
});

describe('bucket clock', () => {
  it('evaluates due windows in order, empty ones too (bounded after a long silence), END_OF_STREAM only those with data', () => {
    const clock = new BucketClock(new InMemoryStore<bigint>('c'), 10n * S, 5n * S, 3);
    assert.equal(clock.isLate(12n * S), false);
    assert.equal(clock.isLate(8n * S), false, 'a record older than the first one, within the lateness, is on time');
    assert.equal(clock.isLate(-1n * S), true, 'one older than the lateness allows is late');
    assert.deepEqual(clock.due(24n * S, [0n, 10n * S]), [0n], 'window 0-10 is due at 15 s, window 10-20 is not yet at 24 s');
    assert.deepEqual(clock.due(25n * S, [10n * S]), [10n * S]);
    assert.equal(clock.isLate(19n * S), true);
    assert.deepEqual(clock.due(200n * S, [20n * S]).map((b) => Number(b / S)), [20, 160, 170, 180], 'data window + the last 3 empty ones');
    assert.deepEqual(clock.due(END_OF_STREAM, [300n * S]).map((b) => Number(b / S)), [280, 290, 300], 'the windows up to the last with data, none after');
  });
});

describe('overrides', () => {
  it('tenant < subject < tenant+subject; later entries win within a level', () => {
    const d = { a: 1, b: 1, c: 1 };
    const o = [{ tenant: 't', subject: 'x', c: 4 }, { subject: 'x', b: 3, c: 3 }, { tenant: 't', a: 2, b: 2, c: 2 }, { tenant: 't', a: 5 }];
    assert.deepEqual(settingsFor(d, o, 't', ['x']), { a: 5, b: 3, c: 4 });
    assert.deepEqual(settingsFor(d, o, 'u', ['x']), { a: 1, b: 3, c: 3 });
    assert.deepEqual(settingsFor(d, o, null, ['y']), d);
  });
});
