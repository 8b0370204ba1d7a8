/** `tapline tail` stopped by a supervisor (SIGTERM) must not leave its throw-away consumer group behind. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { testServices } from '../../test/support/services';

const ROOT = path.resolve(__dirname, '..', '..');

describe('tapline tail: signals @integration', function () {
  this.timeout(240_000);
  before(async function () { this.timeout(300_000); await testServices(); });

  for (const signal of ['SIGTERM'] as const) {
    it(`deletes its consumer group on ${signal}`, async () => {
      const s = await testServices();
      const topic = `tapline.test.tail-signal-${signal}-${Date.now()}`;
      await s.kafka.ensureTopics([{ topic, partitions: 1 }]);
      const admin = new Kafka({ brokers: s.brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const tailGroups = async (): Promise<string[]> => {
          for (let i = 0; ; i++) {
            try {
              return (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith('tapline-tail-'));
            } catch (e) {
              if (i > 100) throw e; // a fresh broker's coordinator is still loading
              await sleep(500);
            }
          }
        };
        const before = new Set(await tailGroups());
        const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tapline.js'), 'tail', topic, '--brokers', s.brokers.join(',')],
          { cwd: ROOT, env: { ...process.env, TAPLINE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        let mine: string[] = [];
        for (let i = 0; i < 750 && mine.length === 0; i++) {
          await sleep(200);
          mine = (await tailGroups()).filter((g) => !before.has(g));
        }
        assert.equal(mine.length, 1, `tail's group did not appear: ${err}`);
        child.kill(signal);
        await exited;
        const left = (await tailGroups()).filter((g) => mine.includes(g));
        assert.deepEqual(left, [], `group left behind after ${signal}: ${err}`);
      } finally {
        await admin.disconnect();
        await s.kafka.deleteTopics([topic]).catch(() => undefined);
      }
    });
  }
});
