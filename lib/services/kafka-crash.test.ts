/** The embedded broker after a crash (kill -9): the stale pid file and the data dir must not block a restart. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeKafka } from '../kafka';
import { KafkaBroker } from './kafka-broker';
import { isAlive, portInUse } from './kafka-proc';

const PORT = Number(process.env.TAPLINE_TEST_KAFKA_PORT ?? 30392) + 4; // 30396 (+1 controller)

describe('KafkaBroker after a crash @integration', function () {
  this.timeout(300_000);
  let stateDir: string;
  let broker: KafkaBroker;
  before(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-kcrash-'));
    broker = new KafkaBroker({ stateDir, port: PORT, startTimeoutMs: 90_000 });
  });
  after(async () => {
    const pid = (await broker.status()).pid;
    await broker.stop().catch(() => undefined);
    if (pid !== null && isAlive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('kill -9, then start again: a new broker on the same data dir answers', async () => {
    assert.equal((await broker.start()).started, true);
    const pid = (await broker.status()).pid!;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await broker.status()).running, false);
    assert.deepEqual(await broker.start(), { brokers: [`127.0.0.1:${PORT}`], started: true });
    const probe = await probeKafka(broker.brokers);
    assert.equal(probe.ok, true, probe.error);
    const pid2 = (await broker.status()).pid!;
    assert.notEqual(pid2, pid);
    assert.equal(await broker.stop(), true);
    assert.equal(isAlive(pid2), false, 'stop returned before the JVM was gone');
    assert.equal(await portInUse('127.0.0.1', PORT), false);
    assert.equal(await broker.stop(), false);
  });
});
