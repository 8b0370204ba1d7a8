import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KafkaClient, OutMessage } from '../../lib/kafka';
import type { VmInventory } from '../../schemas/vm-inventory';
import { InventoryConfigSchema } from './config';
import { InventoryConnector } from './inventory';

class FakeProducer {
  sent: OutMessage[] = [];
  connected = 0;
  closed = 0;
  async connect(): Promise<void> { this.connected++; }
  async close(): Promise<void> { this.closed++; }
  async send(_topic: string, messages: OutMessage[]): Promise<void> { this.sent.push(...messages); }
}

describe('inventory-file connector close', () => {
  it('close() while start() is reading the topic: nothing is published afterwards and the producer is not left open', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-inv-close-'));
    const file = path.join(dir, 'inv.yaml');
    fs.writeFileSync(file, 'vms:\n  - {id: vm1, host: h1, ip: 10.0.0.1}\n');
    const prod = new FakeProducer();
    const kafka = { producer: () => prod, ensureTopics: async () => undefined } as unknown as KafkaClient;
    const c = new InventoryConnector(InventoryConfigSchema.parse({ path: file, pollIntervalMs: 50 }), kafka, {
      readTopic: async () => { await new Promise((r) => setTimeout(r, 50)); return new Map<string, VmInventory>(); },
    });
    try {
      const started = c.start().catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 10));
      await c.close();
      await started;
      await c.close();
      assert.equal(prod.sent.length, 0, 'published after close()');
      assert.equal(prod.connected, prod.closed, 'a producer connected by start() was never closed');
      // the file watch must not have been set up either: a change is not picked up
      fs.writeFileSync(file, 'vms:\n  - {id: vm2, host: h1, ip: 10.0.0.2}\n');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(c.reloads, 0);
    } finally {
      await c.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
