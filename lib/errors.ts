/**
 * Typed errors. Every failure that crosses a component boundary carries a stable `code`
 * (used as the `code` label of the errors counter and as the dead-letter reason), the
 * component (`stage`) that raised it and whether retrying can help (`retriable`).
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'JAVA_MISSING'
  | 'MAVEN_MISSING'
  | 'KAFKA_START_FAILED'
  | 'KAFKA_UNREACHABLE'
  | 'DB_START_FAILED'
  | 'DB_UNREACHABLE'
  | 'DB_NO_TIMESCALEDB'
  | 'DB_REJECTED'
  | 'PCAP_CORRUPT'
  | 'PCAP_UNSUPPORTED'
  | 'AVRO_DECODE'
  | 'AVRO_ENCODE'
  | 'LATE_RECORD'
  /** a stage's processor threw on a record (or on computing its timestamp): dead-lettered, the stage goes on */
  | 'PROCESSING_FAILED'
  | 'EXPORT_INVALID'
  | 'IO'
  | 'INTERNAL';

export class TaplineError extends Error {
  readonly code: ErrorCode;
  readonly stage: string;
  readonly retriable: boolean;
  readonly exitCode: number;

  constructor(code: ErrorCode, stage: string, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'TaplineError';
    this.code = code;
    this.stage = stage;
    this.retriable = opts.retriable ?? false;
    this.exitCode = 2;
  }
}

export function isTaplineError(e: unknown): e is TaplineError {
  return e instanceof TaplineError;
}

/** A printable one-liner for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
