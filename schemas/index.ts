/**
 * The Avro schemas in this folder are the single source of record types. This module loads
 * them, gives every `long` a BigInt representation (nanosecond timestamps exceed 2^53), and
 * frames encoded records with the Avro single-object header (0xC3 0x01 + CRC-64-AVRO
 * fingerprint of the canonical schema) so a reader can tell which schema wrote a message.
 */
import fs from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { TaplineError } from '../lib/errors';
import { BigIntLong } from './bigint-long';
import { InternedString } from './interned-string';
import { registryIdFor, schemaNameForId } from './registry';

export { useSchemaRegistry, resetWireFormat, activeRegistry } from './registry';

export const SCHEMA_DIR = __dirname;

export type SchemaName = 'packet-summary.v1' | 'packet-batch.v1' | 'flow-window.v1';

const cache = new Map<string, avro.Type>();

/** Every schema in this folder: file name (without .avsc) -> its full record name and canonical form. */
export function allSchemas(): Map<string, { fullName: string; canonical: string }> {
  const out = new Map<string, { fullName: string; canonical: string }>();
  for (const f of fs.readdirSync(SCHEMA_DIR).filter((x) => x.endsWith('.avsc')).sort()) {
    const name = f.slice(0, -'.avsc'.length);
    const t = avroType(name);
    out.set(name, { fullName: t.name ?? name, canonical: JSON.stringify(t.schema({ exportAttrs: false })) });
  }
  return out;
}

export function schemaJson(name: string): object {
  const file = path.join(SCHEMA_DIR, `${name}.avsc`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/**
 * One registry for all schemas, so a schema can refer to a named type of another file
 * (packet-batch.v1 holds tapline.v1.PacketSummary). Files that others build on load first.
 */
const registry: Record<string, avro.Type> = { long: BigIntLong };
const FOUNDATIONS = ['packet-summary.v1'];

export function avroType(name: SchemaName | string): avro.Type {
  let t = cache.get(name);
  if (!t) {
    for (const f of FOUNDATIONS) if (f !== name && !cache.has(f)) avroType(f);
    t = avro.Type.forSchema(schemaJson(name) as avro.Schema, { registry: registry as never, wrapUnions: false });
    cache.set(name, t);
  }
  return t;
}

// --- CRC-64-AVRO (Rabin) fingerprint, as defined by the Avro specification ---
const EMPTY = 0xc15d213aa4d7a795n;
const MASK = (1n << 64n) - 1n;
let table: bigint[] | null = null;
function fpTable(): bigint[] {
  if (table) return table;
  table = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
    table.push(fp & MASK);
  }
  return table;
}
export function rabinFingerprint(text: string): bigint {
  const t = fpTable();
  let fp = EMPTY;
  for (const b of Buffer.from(text, 'utf8')) fp = (fp >> 8n) ^ t[Number((fp ^ BigInt(b)) & 0xffn)];
  return fp & MASK;
}

/** Encoder/decoder for one schema with the single-object header. */
export class AvroCodec<T = unknown> {
  readonly type: avro.Type;
  readonly fingerprint: bigint;
  private readonly header: Buffer;
  private scratch: Buffer;

  constructor(readonly name: SchemaName | string) {
    this.type = avroType(name);
    // schema() without attributes is the Parsing Canonical Form the fingerprint is defined on.
    this.fingerprint = rabinFingerprint(JSON.stringify(this.type.schema({ exportAttrs: false })));
    this.header = Buffer.alloc(10);
    this.header[0] = 0xc3;
    this.header[1] = 0x01;
    this.header.writeBigUInt64LE(this.fingerprint, 2);
    this.scratch = Buffer.alloc(64 * 1024);
  }

  encode(record: T): Buffer {
    // Registry wire format (0x00 + schema id) when a registry is configured, else single-object.
    const id = registryIdFor(this.name);
    const headerLen = id === undefined ? 10 : 5;
    try {
      // Encode into a reusable scratch buffer (avsc's toBuffer starts small and re-encodes
      // large batches several times while it grows), then copy out exactly the bytes used.
      let end = this.type.encode(record, this.scratch, headerLen);
      if (end < 0) {
        this.scratch = Buffer.alloc(Math.max(this.scratch.length * 2, this.scratch.length - end));
        end = this.type.encode(record, this.scratch, headerLen);
      }
      const out = Buffer.from(this.scratch.subarray(0, end));
      if (id === undefined) this.header.copy(out, 0);
      else { out[0] = 0; out.writeUInt32BE(id, 1); }
      return out;
    } catch (e) {
      throw new TaplineError('AVRO_ENCODE', this.name, `cannot encode ${this.name}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Throws TaplineError AVRO_DECODE on a foreign fingerprint or a body that does not parse. */
  decode(buf: Buffer): T {
    return this.read<T>(buf, this.type);
  }

  /** Decodes a message of this schema with a reader schema that keeps only some fields (see projection()). */
  decodeProjected<R>(buf: Buffer, p: Projection): R {
    return this.read<R>(buf, p.type, p.resolver);
  }

  private read<R>(buf: Buffer, reader: avro.Type, resolver?: avro.Resolver): R {
    const body = this.body(buf);
    try {
      return reader.fromBuffer(body, resolver) as R;
    } catch (e) {
      throw new TaplineError('AVRO_DECODE', this.name, `corrupt ${this.name} body: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The Avro body after the header, once the header says this schema wrote it. */
  private body(buf: Buffer): Buffer {
    let bodyAt: number;
    if (buf.length >= 5 && buf[0] === 0x00) {
      const id = buf.readUInt32BE(1);
      const name = schemaNameForId(id);
      if (name !== this.name) {
        throw new TaplineError('AVRO_DECODE', this.name, name ? `schema id ${id} is ${name}, not ${this.name}` : `unknown schema registry id ${id} (expected ${this.name})`);
      }
      bodyAt = 5;
    } else {
      if (buf.length < 10 || buf[0] !== 0xc3 || buf[1] !== 0x01) {
        throw new TaplineError('AVRO_DECODE', this.name, `not an Avro single-object message (${buf.length} bytes)`);
      }
      const fp = buf.readBigUInt64LE(2);
      if (fp !== this.fingerprint) {
        throw new TaplineError('AVRO_DECODE', this.name, `schema fingerprint ${fp.toString(16)} is not ${this.name} (${this.fingerprint.toString(16)})`);
      }
      bodyAt = 10;
    }
    return buf.subarray(bodyAt);
  }
}

/** A reader schema and its resolver against the writer schema (Avro schema resolution). */
export interface Projection { type: avro.Type; resolver: avro.Resolver }

/**
 * A reader for messages of `writer` that decodes only `fields` of the record schema `record`
 * (the whole message when writer = record, or the items of its array when writer is a batch of
 * them, as packet-batch.v1 holds packet-summary.v1). The other fields are skipped on the wire.
 */
export function projection(writer: string, record: string, fields: readonly string[]): Projection {
  const rec = schemaJson(record) as { name: string; namespace?: string; fields: { name: string }[] };
  const unknown = fields.filter((f) => !rec.fields.some((x) => x.name === f));
  if (unknown.length > 0) throw new TaplineError('CONFIG_INVALID', record, `${record} has no field(s) ${unknown.join(', ')}`);
  const reader = { ...rec, fields: rec.fields.filter((f) => fields.includes(f.name)) };
  const fullName = rec.namespace ? `${rec.namespace}.${rec.name}` : rec.name;
  // the batch schema refers to the record by its name: put the reduced record there instead
  // (only where a type can stand: not in names, docs or defaults)
  const typeKeys = new Set(['type', 'items', 'values', 'fields']);
  const swap = (node: unknown): unknown => (node === fullName || node === rec.name ? reader
    : Array.isArray(node) ? node.map(swap)
      : node && typeof node === 'object' ? Object.fromEntries(Object.entries(node).map(([k, v]) => [k, typeKeys.has(k) ? swap(v) : v])) : node);
  const readerSchema = writer === record ? reader : swap(schemaJson(writer));
  // Its own registry: the reduced record has the writer's name, which resolution matches on;
  // strings come through a cache of recent values (the same object for the same address).
  const type = avro.Type.forSchema(readerSchema as avro.Schema, { registry: { long: BigIntLong, string: InternedString } as never, wrapUnions: false });
  return { type, resolver: type.createResolver(avroType(writer)) };
}
