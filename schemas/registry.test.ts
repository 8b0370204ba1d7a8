/**
 * The Confluent wire format and the registry client's protocol. No Schema Registry can run here
 * (Confluent's is not on Maven Central, Karapace needs PyPI), so the server side below is a
 * minimal stand-in implementing the two calls the client makes; the framing is checked against
 * the published format (magic 0, big-endian id, Avro binary body).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AvroCodec, allSchemas, resetWireFormat, useSchemaRegistry } from '.';
import { emptyPacketSummary, type PacketSummary } from './types';

describe('Confluent Schema Registry wire format', () => {
  let server: http.Server;
  let url = '';
  const subjects = new Map<string, { id: number; schema: string }>();
  const requests: string[] = [];

  before(async () => {
    let next = 100;
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        requests.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        const m = /^\/subjects\/([^/]+)\/versions$/.exec(req.url ?? '');
        if (req.method !== 'POST' || !m) { res.writeHead(404).end('{"error_code":404}'); return; }
        const { schema } = JSON.parse(body) as { schema: string };
        JSON.parse(schema); // must be a JSON schema document
        const subject = decodeURIComponent(m[1]);
        const known = subjects.get(subject);
        const id = known && known.schema === schema ? known.id : next++;
        subjects.set(subject, { id, schema });
        res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify({ id }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => { resetWireFormat(); server.close(); });

  it('registers every schema under its record name and frames messages as 0x00 + id + Avro body', async () => {
    const ids = await useSchemaRegistry(url, allSchemas());
    assert.ok(subjects.has('tapline.v1.PacketBatch') && subjects.has('tapline.v1.FlowWindow'));
    assert.match(requests[0], /^POST \/subjects\/tapline\.v1\.[A-Za-z]+\/versions application\/vnd\.schemaregistry\.v1\+json$/);
    const codec = new AvroCodec<PacketSummary>('packet-summary.v1');
    const p = { ...emptyPacketSummary(), ts_ns: 1_700_000_000_000_000_001n, src_ip: '10.0.0.1' };
    const buf = codec.encode(p);
    assert.equal(buf[0], 0);
    assert.equal(buf.readUInt32BE(1), ids.get('packet-summary.v1'));
    assert.deepEqual(buf.subarray(5), codec.type.toBuffer(p), 'the body is plain Avro binary');
    assert.equal(codec.decode(buf).ts_ns, p.ts_ns);
    // Registering again finds the same ids (idempotent start-up).
    assert.deepEqual(await useSchemaRegistry(url, allSchemas()), ids);
  });

  it('rejects another schema\'s id and unknown ids, and still reads single-object messages', async () => {
    const packets = new AvroCodec<PacketSummary>('packet-summary.v1');
    const flows = new AvroCodec('flow-window.v1');
    const foreign = Buffer.from(packets.encode({ ...emptyPacketSummary(), ts_ns: 1n }));
    assert.throws(() => flows.decode(foreign), /schema id \d+ is packet-summary\.v1/);
    foreign.writeUInt32BE(99999, 1);
    assert.throws(() => packets.decode(foreign), /unknown schema registry id 99999/);
    resetWireFormat();
    const single = packets.encode({ ...emptyPacketSummary(), ts_ns: 5n });
    assert.equal(single[0], 0xc3);
    assert.equal(packets.decode(single).ts_ns, 5n);
  });

  it('says clearly when the registry is unreachable', async () => {
    await assert.rejects(useSchemaRegistry('http://127.0.0.1:9/', allSchemas()), /unreachable/);
    resetWireFormat();
  });
});
