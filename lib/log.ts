/**
 * Structured logging (pino): JSON lines on stderr so stdout stays free for command output
 * (top-flow tables, exports). Level from TAPLINE_LOG_LEVEL (default "info"; tests use "warn").
 */
import pino from 'pino';

const level = process.env.TAPLINE_LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info');

export const rootLogger = pino({ level, base: { app: 'tapline' } }, pino.destination(2));

export type Logger = pino.Logger;

export function logger(component: string): Logger {
  return rootLogger.child({ component });
}
