import { createConnection } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';

/**
 * GETs `url` and resolves to its JSON (or `null` for a non-JSON body) when the status is 2xx,
 * `undefined` otherwise. Never throws: a refused connection is simply "not healthy yet".
 */
export async function getJson(url: string, timeoutMs = 3_000): Promise<unknown> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    const text = await response.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return null;
    }
  } catch {
    return undefined;
  }
}

/**
 * True when the broker answers a real Kafka request (metadata via `describeCluster`) with at least
 * one broker. An open port alone is not enough: a KRaft broker listens before it has a leader.
 */
export async function kafkaAnswers(brokers: string[], timeoutMs = 5_000): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'vigil-stack-probe',
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
    return cluster.brokers.length > 0 && cluster.controller !== null && cluster.controller >= 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** True when something accepts TCP connections on 127.0.0.1:`port` (used to spot a port taken by someone else). */
export function portInUse(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (inUse: boolean): void => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
