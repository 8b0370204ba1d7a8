/**
 * The dashboard server: a fastify app with the JSON API under /api/v1 (every route a small
 * file in routes/), live updates as server-sent events, and the static single-page app.
 * buildApp() does no I/O; startDashboard() (index.ts) listens.
 */
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Pool } from 'pg';
import { TaplineError } from '../../lib/errors';
import { logger } from '../../lib/log';
import { TokenAuth, requireRole, type Principal, type Role } from './auth';
import { Db } from './db';
import { HttpError } from './http-error';
import { LiveFeed } from './live';
import { registerRoutes } from './routes';
import { exportRoutes } from '../../lib/export/http';

const log = logger('dashboard');

declare module 'fastify' {
  interface FastifyRequest { principal?: Principal }
  interface FastifyContextConfig { role?: Role | 'public'; queryToken?: boolean }
}

export interface AppOptions {
  pool: Pool;
  tokens: { viewer: string[]; operator: string[] };
  pollMs?: number;
}

export interface DashboardApp { app: FastifyInstance; live: LiveFeed; db: Db }

export const WEB_DIR = path.join(__dirname, '..', 'web');

export function buildApp(opts: AppOptions): DashboardApp {
  const app = Fastify({ logger: false, routerOptions: { maxParamLength: 600 } });
  const auth = new TokenAuth(opts.tokens);
  const db = new Db(opts.pool);
  const live = new LiveFeed(db, opts.pollMs ?? 2000);

  app.addHook('onRequest', async (req: FastifyRequest) => {
    // The matched route decides, not the raw URL: the router percent-decodes the path, so
    // `/%61pi/v1/alerts` reaches /api/v1/alerts while req.url does not start with '/api/'.
    if (!req.url.startsWith('/api/') && !req.routeOptions.url?.startsWith('/api/')) return;
    const cfg = req.routeOptions.config ?? {};
    if (cfg.role === 'public') return;
    const q = req.query as Record<string, unknown> | undefined;
    const qt = typeof q?.token === 'string' ? q.token : undefined;
    req.principal = auth.authenticate(req.headers.authorization, qt, cfg.queryToken === true);
    requireRole(req.principal, cfg.role ?? 'viewer');
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof HttpError) {
      void reply.code(err.statusCode).send({ error: err.error, message: err.message });
      return;
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // fastify's own rejections (malformed JSON body, bad content type, unknown route…)
      void reply.code(status).send({ error: 'bad_request', message: (err as Error).message });
      return;
    }
    log.error({ err, url: req.url }, 'request failed');
    const message = err instanceof TaplineError ? err.message : 'internal error';
    void reply.code(500).send({ error: 'internal', message });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });

  registerRoutes(app, { db, live });
  // Arrow export of any public table (lib/export, issue #5) under the same tokens: viewer role;
  // ?token= accepted too, since notebooks open it as a plain URL.
  void app.register(exportRoutes, { pool: opts.pool, routeConfig: { role: 'viewer', queryToken: true } });

  void app.register(fastifyStatic, { root: WEB_DIR, prefix: '/', index: ['index.html'], wildcard: false });
  const echartsFile = require.resolve('echarts/dist/echarts.min.js');
  void app.register(fastifyStatic, { root: path.dirname(echartsFile), prefix: '/vendor/', decorateReply: false, wildcard: false,
    allowedPath: (p) => p === '/echarts.min.js' });

  app.addHook('onClose', async () => { live.close(); });
  return { app, live, db };
}
