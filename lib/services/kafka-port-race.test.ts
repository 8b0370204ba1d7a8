/**
 * Two embedded brokers of different stateDirs started at once on the same ports: only one can
 * bind, and the other start() must fail rather than report the winner's broker as its own.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isTaplineError } from '../errors';
import { KafkaBroker } from './kafka-broker';
import { isAlive } from './kafka-proc';

const PORT = Number(process.env.TAPLINE_TEST_KAFKA_PORT ?? 30392) + 6; // 30398 (+1 controller)

describe('KafkaBroker: two stateDirs racing for one port @integration', function () {
  this.timeout(300_000);
  const dirs: string[] = [];
  const brokers: KafkaBroker[] = [];
  after(async () => {
    for (const b of brokers) {
      const pid = (await b.status()).pid;
      await b.stop().catch(() => undefined);
      if (pid !== null && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('exactly one start succeeds; the loser reports KAFKA_START_FAILED, not the winner\'s broker', async () => {
    for (let i = 0; i < 2; i++) {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-krace-'));
      dirs.push(d);
      brokers.push(new KafkaBroker({ stateDir: d, port: PORT, heap: '-Xmx256m', startTimeoutMs: 120_000 }));
    }
    // The second starts a moment later, as another command would: past its port check while the
    // first JVM is still formatting/booting, so neither port is bound yet.
    const results = await Promise.allSettled(brokers.map(async (b, i) => {
      await new Promise((r) => setTimeout(r, i * 1500));
      return b.start();
    }));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const running = await Promise.all(brokers.map(async (b) => (await b.status()).running));
    assert.equal(ok.length, 1, `both starts reported success; running: ${JSON.stringify(running)}`);
    assert.ok(isTaplineError(failed[0].reason) && failed[0].reason.code === 'KAFKA_START_FAILED', String(failed[0].reason));
  });
});
