import { Kafka, logLevel } from 'kafkajs';

export interface ProbeResult {
  ok: boolean;
  brokers?: number;
  controller?: number | null;
  /** the cluster id the answering broker reports (tells our broker from another one on the port) */
  clusterId?: string;
  error?: string;
}

/** One metadata round trip: answers whether a broker at `brokers` serves requests now. */
export async function probeKafka(brokers: string[], timeoutMs = 3000): Promise<ProbeResult> {
  const kafka = new Kafka({
    clientId: 'tapline-probe',
    brokers,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { ok: true, brokers: cluster.brokers.length, controller: cluster.controller, clusterId: cluster.clusterId };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
