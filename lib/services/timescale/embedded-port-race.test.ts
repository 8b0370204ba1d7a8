/**
 * Two embedded servers of different stateDirs started at once on the same port: only one can
 * listen, and the other start() must fail rather than report the winner's server as its own.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isTaplineError } from '../../errors';
import { EmbeddedTimescale } from './embedded';

const PORT = Number(process.env.TAPLINE_TEST_PG_PORT ?? 26333) + 4; // 26337

describe('EmbeddedTimescale: two stateDirs racing for one port @integration', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  const servers: EmbeddedTimescale[] = [];
  after(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('exactly one start succeeds; the loser reports DB_START_FAILED, not the winner\'s server', async () => {
    for (let i = 0; i < 2; i++) {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-tsrace-'));
      dirs.push(d);
      servers.push(new EmbeddedTimescale({ stateDir: d, port: PORT, startTimeoutMs: 60_000 }));
    }
    const results = await Promise.allSettled(servers.map((s) => s.start()));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const running = await Promise.all(servers.map(async (s) => (await s.status()).running));
    assert.equal(ok.length, 1, `both starts reported success; running: ${JSON.stringify(running)}`);
    assert.ok(isTaplineError(failed[0].reason) && failed[0].reason.code === 'DB_START_FAILED', String(failed[0].reason));
  });
});
