/**
 * Structured logging (pino) on stderr, so stdout stays free for command output (tables,
 * exports). JSON lines by default (for log shippers); human-readable lines when stderr is a
 * terminal or TAPLINE_LOG_FORMAT=pretty. Level from TAPLINE_LOG_LEVEL (default "info";
 * "warn" under tests).
 */
import pino from 'pino';
import pretty from 'pino-pretty';

const level = process.env.TAPLINE_LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info');
const format = process.env.TAPLINE_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');

const destination = format === 'pretty'
  ? pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname,app', translateTime: 'SYS:HH:MM:ss.l' })
  : pino.destination(2);

export const rootLogger = pino({ level, base: { app: 'tapline' } }, destination);

export type Logger = pino.Logger;

export function logger(component: string): Logger {
  return rootLogger.child({ component });
}
