import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isTaplineError } from '../errors';
import { probeKafka } from '../kafka';
import { ensureKafka, KafkaBroker } from './kafka-broker';
import { portOpen } from './kafka-proc';

/** Resolves to the TaplineError code `fn` rejects with (fails when it resolves). */
async function errorCode(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (isTaplineError(e)) return e.code;
    throw e;
  }
  assert.fail('expected a TaplineError');
}

describe('KafkaBroker: a real single-node Apache Kafka @integration', function () {
  // The first run may fetch Kafka from Maven Central (minutes on a slow network).
  this.timeout(600_000);
  const PORT = 29092;
  const BROKERS = [`127.0.0.1:${PORT}`];
  const tmpDirs: string[] = [];
  const timings: Record<string, number> = {};
  const tmpDir = (name: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `tapline-${name}-`));
    tmpDirs.push(d);
    return d;
  };
  let stateDir: string;
  let broker: KafkaBroker;

  before(() => {
    stateDir = tmpDir('kafka-it');
    broker = new KafkaBroker({ stateDir, port: PORT });
  });

  after(async () => {
    await broker.stop().catch(() => undefined);
    for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
    // eslint-disable-next-line no-console
    console.log(`      kafka timings (ms): ${JSON.stringify(timings)}`);
  });

  it('the constructor does nothing: no files, no process', async () => {
    const b = new KafkaBroker({ stateDir: path.join(stateDir, 'unused'), port: PORT + 10 });
    assert.equal(fs.existsSync(path.join(stateDir, 'unused')), false);
    assert.equal(b.brokers[0], `127.0.0.1:${PORT + 10}`);
  });

  it('starts a broker (fetching the jars on first use) that answers metadata requests', async () => {
    const t0 = Date.now();
    const r = await broker.start();
    timings.firstStart = Date.now() - t0;
    assert.deepEqual(r, { brokers: BROKERS, started: true });
    const probe = await probeKafka(BROKERS);
    assert.equal(probe.ok, true, probe.error);
    assert.equal(probe.brokers, 1);
    const st = await broker.status();
    assert.equal(st.running, true);
    assert.equal(st.ready, true);
    assert.ok(st.pid !== null && fs.readFileSync(`/proc/${st.pid}/cmdline`, 'utf8').includes('kafka.Kafka'));
    for (const f of ['server.properties', 'kafka.log', 'kafka.pid', 'cluster.id', 'data/meta.properties']) {
      assert.ok(fs.existsSync(path.join(stateDir, f)), f);
    }
    const props = fs.readFileSync(path.join(stateDir, 'server.properties'), 'utf8');
    assert.match(props, /^auto\.create\.topics\.enable=false$/m);
    assert.match(props, /^num\.partitions=4$/m);
    // The broker answers metadata a moment before log4j writes its "started" line: poll for it.
    const started = /Kafka Server started|BrokerServer id=1\] Transition/;
    for (let i = 0; i < 100 && !started.test(fs.readFileSync(path.join(stateDir, 'kafka.log'), 'utf8')); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(fs.readFileSync(path.join(stateDir, 'kafka.log'), 'utf8'), started);
  });

  it('start again reuses the same broker (started: false), also from a second instance', async () => {
    const pid = (await broker.status()).pid;
    const t0 = Date.now();
    assert.deepEqual(await broker.start(), { brokers: BROKERS, started: false });
    timings.reuse = Date.now() - t0;
    const other = new KafkaBroker({ stateDir, port: PORT });
    const [a, b] = await Promise.all([other.start(), other.start()]);
    assert.deepEqual(a, { brokers: BROKERS, started: false });
    assert.deepEqual(b, a);
    assert.equal((await other.status()).pid, pid);
  });

  it('ensureKafka with brokers given only probes them and starts nothing', async () => {
    const r = await ensureKafka({ brokers: BROKERS, stateDir: tmpDir('kafka-unused'), port: PORT + 20 });
    assert.deepEqual(r, { brokers: BROKERS, broker: null });
    assert.equal(await portOpen('127.0.0.1', PORT + 20), false);
    assert.equal(await errorCode(() => ensureKafka({ brokers: ['127.0.0.1:1'] })), 'KAFKA_UNREACHABLE');
  });

  it('refuses a port held by a process that is not its own broker', async () => {
    const foreign = new KafkaBroker({ stateDir: tmpDir('kafka-foreign'), port: PORT });
    assert.equal(await errorCode(() => foreign.start()), 'KAFKA_START_FAILED');
    assert.equal(await foreign.stop(), false, 'must not stop a broker it did not start');
    assert.equal((await probeKafka(BROKERS)).ok, true);
  });

  it('stop ends the broker and closes the port; stopping twice is fine', async () => {
    const t0 = Date.now();
    assert.equal(await broker.stop(), true);
    timings.stop = Date.now() - t0;
    assert.equal(await portOpen('127.0.0.1', PORT), false);
    assert.equal(fs.existsSync(path.join(stateDir, 'kafka.pid')), false);
    assert.equal(await broker.stop(), false);
    const st = await broker.status();
    assert.equal(st.running, false);
    assert.equal(st.ready, false);
  });

  it('a warm start (storage formatted, jars cached) is ready again', async () => {
    const clusterId = fs.readFileSync(path.join(stateDir, 'cluster.id'), 'utf8');
    const t0 = Date.now();
    assert.deepEqual(await broker.start(), { brokers: BROKERS, started: true });
    timings.warmStart = Date.now() - t0;
    assert.equal(fs.readFileSync(path.join(stateDir, 'cluster.id'), 'utf8'), clusterId);
    assert.equal(await broker.stop(), true);
    assert.equal(await portOpen('127.0.0.1', PORT), false);
  });

  it('a missing java is a JAVA_MISSING error naming the Debian package', async () => {
    const b = new KafkaBroker({ stateDir: tmpDir('kafka-nojava'), port: PORT + 30, javaBin: '/nonexistent/java' });
    const err = await b.start().then(() => null, (e: unknown) => e);
    assert.ok(isTaplineError(err), String(err));
    assert.equal(err.code, 'JAVA_MISSING');
    assert.match(err.message, /openjdk-17-jre-headless/);
  });

  it('a missing mvn (jars not cached yet) is a MAVEN_MISSING error', async () => {
    const b = new KafkaBroker({
      stateDir: tmpDir('kafka-nomvn'), port: PORT + 40, mvnBin: '/nonexistent/mvn', cacheDir: tmpDir('kafka-nocache'),
    });
    const err = await b.start().then(() => null, (e: unknown) => e);
    assert.ok(isTaplineError(err), String(err));
    assert.equal(err.code, 'MAVEN_MISSING');
    assert.match(err.message, /apt-get install maven/);
  });
});
