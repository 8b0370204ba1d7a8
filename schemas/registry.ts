/**
 * Optional Confluent Schema Registry wire format. When a registry URL is configured, tapline
 * registers its schemas (subject = the record's full name, i.e. RecordNameStrategy) at start-up
 * and every codec then frames messages as 0x00 + 4-byte big-endian schema id + Avro body, which
 * Confluent/Apicurio deserializers, ksqlDB and Kafka Connect read. Without a registry, messages
 * use the Avro single-object encoding (0xC3 0x01 + fingerprint). Decoders accept both.
 */
import { TaplineError } from '../lib/errors';

const idsByName = new Map<string, number>();
const namesById = new Map<number, string>();
let registryUrl: string | null = null;

export function activeRegistry(): string | null { return registryUrl; }
export function registryIdFor(schemaName: string): number | undefined { return registryUrl ? idsByName.get(schemaName) : undefined; }
export function schemaNameForId(id: number): string | undefined { return namesById.get(id); }

async function call(url: string, init: RequestInit): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', accept: 'application/vnd.schemaregistry.v1+json, application/json' } });
  } catch (e) {
    throw new TaplineError('IO', 'schema-registry', `schema registry at ${url} is unreachable: ${(e as Error).message}`, { retriable: true });
  }
  const body = await res.text();
  if (!res.ok) throw new TaplineError('CONFIG_INVALID', 'schema-registry', `schema registry answered ${res.status} for ${url}: ${body.slice(0, 300)}`);
  return JSON.parse(body);
}

/**
 * Registers (or finds) each schema under its record name and switches every codec to the
 * registry wire format. `schemas`: schema file name (e.g. packet-batch.v1) -> its JSON text.
 */
export async function useSchemaRegistry(url: string, schemas: Map<string, { fullName: string; canonical: string }>): Promise<Map<string, number>> {
  const base = url.replace(/\/+$/, '');
  for (const [name, s] of schemas) {
    const r = await call(`${base}/subjects/${encodeURIComponent(s.fullName)}/versions`, { method: 'POST', body: JSON.stringify({ schema: s.canonical }) }) as { id?: unknown };
    if (typeof r.id !== 'number') throw new TaplineError('CONFIG_INVALID', 'schema-registry', `schema registry gave no id for ${s.fullName}`);
    idsByName.set(name, r.id);
    namesById.set(r.id, name);
  }
  registryUrl = base;
  return new Map(idsByName);
}

/** Back to the single-object encoding (tests). */
export function resetWireFormat(): void {
  registryUrl = null;
  idsByName.clear();
  namesById.clear();
}
