/**
 * The database goes away for 60 s in the middle of a replay: the sink stops consuming (no new
 * batches, no offsets committed), retries with backoff, resumes when the database is back on
 * the same port and data dir, and the tables end up exactly as after an uninterrupted run.
 * A record the database refuses is dead-lettered with the database's error while the rest of
 * its batch is written.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { testConfig, testServices } from './support/services';
import { AvroCodec } from '../schemas';
import type { FlowWindow } from '../schemas/types';
import { EmbeddedTimescale } from '../lib/services/timescale/embedded';
import { readPartitionsToEnd, type InMessage, type KafkaClient } from '../lib/kafka';
import { TimescaleSink } from '../pipelines/sinks/timescale';
import { sampleRecords, syntheticFlowWindows } from '../pipelines/sinks/timescale/tables/fixtures';
import type { Pool } from 'pg';
import type { Services } from '../cli/services';

const RUN = `sinkout${process.pid}x${Date.now()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TABLES: Record<string, string> = { flow_windows: 'observation_point', flow_metrics: 'observation_point', rtt_sketch_bins: 'observation_point', l7_events: 'observation_point' };

async function dump(pool: Pool): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [t, m] of Object.entries(TABLES)) {
    out[t] = (await pool.query<{ j: string }>(`SELECT to_jsonb(t)::text AS j FROM ${t} t WHERE ${m} LIKE $1 ORDER BY 1`, [`${RUN}%`])).rows.map((r) => r.j);
  }
  return out;
}

async function committedTotal(kafka: KafkaClient, group: string, topic: string): Promise<bigint> {
  let n = 0n;
  for (const o of (await kafka.committedOffsets(group, topic)).values()) if (o > 0n) n += o;
  return n;
}

async function readAll(kafka: KafkaClient, topic: string): Promise<InMessage[]> {
  const got: InMessage[] = [];
  await readPartitionsToEnd(kafka, topic, [...Array(await kafka.partitionCount(topic)).keys()], (_p, m) => { got.push(m); });
  return got;
}

describe('sink survives a database outage @integration', function () {
  this.timeout(600_000);
  const topics = { flow_windows: `${RUN}.flows`, flow_metrics: `${RUN}.metrics`, l7_events: `${RUN}.l7` };
  const dlq = `${RUN}.dlq`;
  const N = 30_000;

  before(async () => {
    const s = await testServices();
    await s.kafka.ensureTopics([...Object.values(topics).map((topic) => ({ topic, partitions: 2 })), { topic: dlq, partitions: 1 }]);
    const fx = await sampleRecords(RUN);
    const prod = s.kafka.producer();
    const fw = new AvroCodec<FlowWindow>('flow-window.v1');
    const windows = syntheticFlowWindows(RUN, N);
    windows[1234] = { ...windows[1234], addr_a: 'not-an-address' }; // the database refuses this one
    for (let i = 0; i < N; i += 5000) await prod.send(topics.flow_windows, windows.slice(i, i + 5000).map((w) => ({ key: w.flow_key, value: fw.encode(w) })));
    for (const name of ['flow_metrics', 'l7_events'] as const) {
      const codec = new AvroCodec(name === 'flow_metrics' ? 'flow-metrics.v1' : 'l7-event.v1');
      await prod.send(topics[name], fx.get(name)!.map((r) => ({ key: String(r.flow_key), value: codec.encode(r) })));
    }
    await prod.close();
  });

  const sink = (s: Services, group: string) => new TimescaleSink({ tables: Object.keys(topics), topics, deadLetterTopic: dlq, groupId: group, batchSize: 500, maxBackoffMs: 4000 },
    { kafka: s.kafka, pool: s.pool, bounded: true });

  it('a refused record is dead-lettered with the database error; the rest is written', async () => {
    const s = await testServices();
    const k = sink(s, `${RUN}-ref`);
    try { await k.start(); await k.done(); } finally { await k.close(); }
    assert.equal(k.metrics.errorsByCode.get('DB_REJECTED'), 1);
    const d = await dump(s.pool);
    assert.equal(d.flow_windows.length, N - 1);
    const dead = await readAll(s.kafka, dlq);
    assert.equal(dead.length, 1);
    assert.equal(dead[0].headers['tapline.code'], 'DB_REJECTED');
    assert.equal(dead[0].headers['tapline.stage'], 'sink-timescale');
    assert.match(dead[0].headers['tapline.reason'], /inet/);
    assert.match(dead[0].headers['tapline.source'], new RegExp(`^${RUN}\\.flows/\\d/\\d+$`));
    assert.equal(new AvroCodec<FlowWindow>('flow-window.v1').decode(dead[0].value!).addr_a, 'not-an-address', 'the original record is kept');
  });

  it('database stopped for 60 s mid-replay: consumption stops, resumes, and the tables equal an uninterrupted run', async () => {
    const s = await testServices();
    const reference = await dump(s.pool); // written by the previous test's uninterrupted run
    assert.equal(reference.flow_windows.length, N - 1);
    assert.ok(reference.rtt_sketch_bins.length > 0 && reference.l7_events.length > 0);
    for (const t of Object.keys(TABLES)) await s.pool.query(`DELETE FROM ${t} WHERE ${TABLES[t]} LIKE $1`, [`${RUN}%`]);

    const cfg = testConfig();
    const db = new EmbeddedTimescale({ stateDir: path.join(cfg.stateDir, 'timescale'), port: cfg.timescale.embeddedPort });
    const group = `${RUN}-outage`;
    const k = sink(s, group);
    await k.start();
    try {
      while (k.metrics.totals.sent < 3000) await sleep(20);
      await db.stop();
      const t0 = Date.now();
      await sleep(5000); // the batch in flight fails and starts retrying
      const received = k.metrics.totals.received;
      const committed = await committedTotal(s.kafka, group, topics.flow_windows);
      const retries = k.writerRetries;
      await sleep(60_000 - (Date.now() - t0));
      assert.equal(k.metrics.totals.received, received, 'no new batch was consumed while the database was down');
      assert.equal(await committedTotal(s.kafka, group, topics.flow_windows), committed, 'no offsets committed while the database was down');
      assert.ok(k.writerRetries > retries, 'the writer kept retrying');
      assert.ok(committed < BigInt(N), 'the outage happened mid-replay');
      await db.start();
      await k.done();
    } finally {
      await k.close();
      await db.start(); // whatever happened, leave the database running for the other tests
    }
    assert.equal(await committedTotal(s.kafka, group, topics.flow_windows), BigInt(N), 'every offset committed in the end');
    assert.equal(k.metrics.errorsByCode.get('DB_REJECTED'), 1, 'only the bad record was refused');
    assert.deepEqual(await dump(s.pool), reference, 'the tables equal the uninterrupted run');
  });
});
