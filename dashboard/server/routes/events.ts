/**
 * GET /api/v1/events — server-sent events: `window` when new flow windows arrive, `alert` when
 * an alert is new or changes (see live.ts). EventSource cannot send headers, so this route also
 * takes the token as ?token= (the only one that does; use it over loopback or TLS only, since
 * URLs end up in logs and history).
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { parse } from '../params';
import type { RouteContext } from './common';

const Query = z.object({ token: z.string().optional() }).strict();

export function register(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/events', { config: { queryToken: true } }, async (req, reply) => {
    parse(Query, req.query);
    await ctx.live.prime();
    reply.hijack();
    const res = reply.raw;
    // The client may have left while prime() waited on the database: its 'close' has fired
    // already, so a subscription made now would never end (listener, keep-alive, poller).
    if (req.raw.socket.destroyed) { res.destroy(); return; }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: 3000\nevent: hello\ndata: ${JSON.stringify({ role: req.principal!.role })}\n\n`);
    const unsubscribe = ctx.live.subscribe((e) => { res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`); });
    // A comment line every 15 s keeps proxies and idle timeouts from closing a quiet stream.
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const done = () => { clearInterval(keepAlive); unsubscribe(); };
    req.raw.on('close', done);
    res.on('error', done);
  });
}
