/**
 * Shared result shape of the parsers. A parser never throws on its input: it returns either a
 * (possibly partial) message with `truncated` set when the bytes it was given end before the
 * message does, or a failure with a short reason code (counted by the stage per reason).
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

/** Bytes as text, one char per byte (latin1), with control characters escaped as \xNN. */
export function printable(b: Buffer, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = b[i];
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}
