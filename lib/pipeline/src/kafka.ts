import {
  Kafka,
  logLevel,
  type ITopicConfig,
  type KafkaConfig as KafkaJsConfig,
  type SASLOptions,
} from 'kafkajs';
import type { Family } from '@vigil/schemas/families';

/**
 * Kafka access for every component, behind one small module so the client library (kafkajs now)
 * can be replaced without touching producers and workers.
 */
export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** TLS to the brokers; verification is on unless a test turns it off explicitly. */
  readonly tls?: { readonly ca?: string; readonly rejectUnauthorized?: boolean };
  readonly sasl?: {
    readonly mechanism: 'scram-sha-256' | 'scram-sha-512';
    readonly username: string;
    readonly password: string;
  };
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** Creates a kafkajs client; no I/O until a producer, consumer or admin connects. */
export function createKafka(config: KafkaConfig): Kafka {
  // Vigil keys records itself and uses kafkajs' default (murmur2, Java-compatible) partitioner;
  // the warning that it changed in kafkajs 2.0 is only noise.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const options: KafkaJsConfig = {
    clientId: config.clientId,
    brokers: [...config.brokers],
    connectionTimeout: config.connectionTimeoutMs ?? 3000,
    requestTimeout: config.requestTimeoutMs ?? 30000,
    logLevel: logLevel.WARN,
  };
  if (config.tls) {
    options.ssl = {
      rejectUnauthorized: config.tls.rejectUnauthorized ?? true,
      ...(config.tls.ca ? { ca: [config.tls.ca] } : {}),
    };
  }
  if (config.sasl) options.sasl = { ...config.sasl } as SASLOptions;
  return new Kafka(options);
}

/** How a topic is created. */
export interface TopicSpec {
  readonly topic: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly cleanupPolicy: 'delete' | 'compact';
}

/** The topic specs of families; `prefix` gives tests topics of their own. */
export function familyTopics(
  families: readonly Family[],
  options: {
    readonly prefix?: string;
    readonly numPartitions?: number;
    readonly replicationFactor?: number;
  } = {},
): TopicSpec[] {
  return families.map((family) => ({
    topic: `${options.prefix ?? ''}${family.topic}`,
    numPartitions: options.numPartitions ?? 3,
    replicationFactor: options.replicationFactor ?? 1,
    cleanupPolicy: family.cleanupPolicy,
  }));
}

/** Creates the topics that do not exist yet; existing ones are left as they are. Idempotent. */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing: ITopicConfig[] = topics
      .filter((t) => !existing.has(t.topic))
      .map((t) => ({
        topic: t.topic,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        configEntries: [{ name: 'cleanup.policy', value: t.cleanupPolicy }],
      }));
    if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
