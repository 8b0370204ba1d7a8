/** Every API route file, registered in one place. */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './common';
import * as alerts from './alerts';
import * as capacity from './capacity';
import * as events from './events';
import * as meta from './meta';
import * as pair from './pair';
import * as performance from './performance';
import * as topology from './topology';
import * as trends from './trends';

export function registerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  for (const r of [meta, topology, pair, trends, performance, alerts, capacity, events]) r.register(app, ctx);
}
