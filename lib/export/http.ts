/**
 * `GET /api/v1/export/:table?from=&to=&columns=&time_column=&format=` as a fastify plugin: the
 * same Arrow export as `tapline export`, streamed as `application/vnd.apache.arrow.stream` (or
 * the file format with format=file) for notebooks:
 *   pa.ipc.open_stream(urlopen(url)).read_pandas()
 * Bad parameters are answered before any byte of Arrow with 400 and `{ error, message }` (the
 * dashboard API's error shape). A failure after streaming began cannot change the status any
 * more: the connection is then cut, so the client sees an error, never a shorter table.
 *
 * `tapline serve` registers it in the dashboard app: `app.register(exportRoutes, { pool })`.
 */
import { PassThrough } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Pool } from 'pg';
import { isTaplineError } from '../errors';
import { logger } from '../log';
import { planExport } from './plan';
import { ARROW_FILE_MIME, ARROW_STREAM_MIME, writeArrow, type ArrowFormat } from './write';

const log = logger('export-http');

export interface ExportRoutesOptions {
  pool: Pool;
  /** Rows per record batch (default 50 000). */
  batchRows?: number;
  /** Route config passed through to fastify (e.g. the dashboard's `{ role: 'viewer' }`). */
  routeConfig?: Record<string, unknown>;
}

const PARAMS = ['from', 'to', 'columns', 'time_column', 'format', 'token'];

export const EXPORT_ROUTE = '/api/v1/export/:table';

export const exportRoutes: FastifyPluginAsync<ExportRoutesOptions> = async (app, opts) => {
  app.get<{ Params: { table: string }; Querystring: Record<string, string | string[] | undefined> }>(EXPORT_ROUTE, {
    config: (opts.routeConfig ?? {}) as never,
  }, async (req, reply) => {
    const q = req.query;
    const bad = (message: string) => reply.code(400).send({ error: 'bad_request', message });
    const unknown = Object.keys(q).filter((k) => !PARAMS.includes(k));
    if (unknown.length) return bad(`unknown query parameter ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${PARAMS.slice(0, 5).join(', ')}`);
    const repeated = Object.keys(q).filter((k) => Array.isArray(q[k]));
    if (repeated.length) return bad(`query parameter "${repeated[0]}" given more than once`);
    const one = (k: string) => q[k] as string | undefined;
    const format = one('format') ?? 'stream';
    if (format !== 'stream' && format !== 'file') return bad(`format must be "stream" or "file", not "${format}"`);
    let plan;
    try {
      plan = await planExport(opts.pool, {
        table: req.params.table, from: one('from'), to: one('to'),
        columns: one('columns')?.split(','), timeColumn: one('time_column'),
      });
    } catch (e) {
      if (isTaplineError(e) && e.code === 'EXPORT_INVALID') return bad(e.message);
      throw e;
    }
    const body = new PassThrough();
    const ext = format === 'file' ? 'arrow' : 'arrows';
    void reply
      .code(200)
      .type(format === 'file' ? ARROW_FILE_MIME : ARROW_STREAM_MIME)
      .header('content-disposition', `attachment; filename="${plan.relation.name}.${ext}"`)
      .header('cache-control', 'no-store')
      .send(body);
    writeArrow(opts.pool, plan, body, { format: format as ArrowFormat, batchRows: opts.batchRows })
      .then((r) => log.info({ table: plan.relation.name, rows: r.rows, bytes: r.bytes }, 'export streamed'))
      .catch((e: unknown) => log.warn({ table: plan.relation.name, err: (e as Error).message }, 'export stopped'));
    return reply;
  });
};

export interface ExportServer {
  app: FastifyInstance;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A fastify server with only the export route (tests, and a base for `tapline serve`). */
export async function startExportServer(pool: Pool, opts: { host?: string; port?: number; batchRows?: number } = {}): Promise<ExportServer> {
  const app = Fastify({ logger: false });
  await app.register(exportRoutes, { pool, batchRows: opts.batchRows });
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  let closed = false;
  return {
    app, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}
