/**
 * createPool / assertTimescale / ensureTimescale against real servers: the PostgreSQL 15
 * WITHOUT timescaledb at 127.0.0.1:5432 (database `test`), a closed port, and the embedded one.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TaplineError } from '../errors';
import { assertTimescale, createPool, describeUrl, ensureTimescale } from './pool';

const PLAIN_PG = 'postgres://postgres@127.0.0.1:5432/test';

/** A port nobody listens on, scanning up from `from` (fixed ports collide with parallel suites). */
async function freePort(from: number): Promise<number> {
  for (let port = from; ; port++) {
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer().once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

function isCode(code: string, re?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof TaplineError, `expected a TaplineError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.stage, 'db');
    if (re) assert.match(e.message, re);
    return true;
  };
}

describe('db pool', () => {
  it('forces one connection for the embedded server, honours max otherwise', async () => {
    const embedded = createPool('postgres://postgres@127.0.0.1:1/x', { embedded: true, max: 8 });
    const real = createPool('postgres://postgres@127.0.0.1:1/x', { embedded: false, max: 8 });
    assert.equal(embedded.options.max, 1);
    assert.equal(real.options.max, 8);
    await embedded.end();
    await real.end();
  });

  it('describes a URL by database and host, without the password', () => {
    assert.deepEqual(describeUrl('postgres://u:secret@db.example:6543/metrics'), { database: 'metrics', host: 'db.example:6543' });
    assert.deepEqual(describeUrl('postgres://u@db.example/'), { database: 'u', host: 'db.example:5432' });
  });
});

describe('db pool against real servers @integration', function () {
  this.timeout(120_000);
  const savedEnv = process.env.TAPLINE_PG_URL;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.TAPLINE_PG_URL;
    else process.env.TAPLINE_PG_URL = savedEnv;
  });

  it('assertTimescale: DB_NO_TIMESCALEDB on a plain PostgreSQL, naming database, host and the fixes', async () => {
    const pool = createPool(PLAIN_PG, { embedded: false });
    try {
      await assert.rejects(
        assertTimescale(pool, PLAIN_PG),
        (e: unknown) => {
          isCode('DB_NO_TIMESCALEDB', /database "test" on 127\.0\.0\.1:5432/)(e);
          for (const fix of [/CREATE EXTENSION timescaledb/, /timescale\/timescaledb/, /omit --pg/]) assert.match((e as Error).message, fix);
          return true;
        },
      );
    } finally {
      await pool.end();
    }
  });

  it('ensureTimescale with a URL (argument or TAPLINE_PG_URL) checks it and starts nothing', async () => {
    await assert.rejects(ensureTimescale({ url: PLAIN_PG }), isCode('DB_NO_TIMESCALEDB', /"test"/));
    process.env.TAPLINE_PG_URL = PLAIN_PG;
    await assert.rejects(ensureTimescale(), isCode('DB_NO_TIMESCALEDB', /"test"/));
  });

  it('ensureTimescale: DB_UNREACHABLE (retriable) on a closed port', async () => {
    const port = await freePort(25533);
    const url = `postgres://postgres@127.0.0.1:${port}/nothing`;
    await assert.rejects(ensureTimescale({ url }), (e: unknown) => {
      isCode('DB_UNREACHABLE', new RegExp(`"nothing" on 127\\.0\\.0\\.1:${port}.*ECONNREFUSED`, 's'))(e);
      assert.equal((e as TaplineError).retriable, true);
      return true;
    });
  });

  it('ensureTimescale without a URL starts the embedded server; its URL then passes as a given URL', async () => {
    delete process.env.TAPLINE_PG_URL;
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-pool-'));
    const port = await freePort(25833 + (process.pid % 200) * 5);
    const got = await ensureTimescale({ stateDir, port });
    try {
      assert.equal(got.embedded, true);
      assert.equal(got.url, `postgres://postgres@127.0.0.1:${port}/postgres`);
      assert.ok(got.server);
      const again = await ensureTimescale({ url: got.url });
      assert.deepEqual(again, { url: got.url, embedded: false, server: null });
      const pool = createPool(got.url, { embedded: true });
      try {
        assert.match(await assertTimescale(pool, got.url), /^2\.\d+/);
      } finally {
        await pool.end();
      }
    } finally {
      await got.server?.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
