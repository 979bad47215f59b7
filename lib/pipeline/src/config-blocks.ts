import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { secret } from '@vigil/config/config';
import type { KafkaConfig } from './kafka.js';

/**
 * The config blocks every worker shares, so `kafka`, `batch`, `retry`, `deadLetter`, `health` and
 * `drainTimeoutMs` mean the same in every worker's section. A worker's schema is
 * `z.strictObject({ ...workerConfigShape({ name, inputTopics }), ...its own keys })`.
 */

/**
 * How a client reaches the brokers securely: the same keys in the workers' `kafka` block and in
 * every other Kafka client's (`vigil sign`). Spread into a z.strictObject, with `saslTogether`.
 */
export const kafkaSecurityShape = {
  tls: z.boolean().default(false).describe('TLS to the brokers (certificates always verified).'),
  tlsCaFile: z
    .string()
    .optional()
    .describe("PEM file of the CA that signed the brokers' certificates."),
  saslMechanism: z
    .enum(['scram-sha-256', 'scram-sha-512'])
    .optional()
    .describe('SASL mechanism, when the brokers need one.'),
  saslUsername: z.string().optional().describe('SASL user name.'),
  saslPassword: secret(z.string()).optional().describe('SASL password (secret).'),
};

/** The settings of kafkaSecurityShape plus the brokers and the client id. */
export interface KafkaConnectionSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly tls: boolean;
  readonly tlsCaFile?: string | undefined;
  readonly saslMechanism?: 'scram-sha-256' | 'scram-sha-512' | undefined;
  readonly saslUsername?: string | undefined;
  readonly saslPassword?: string | undefined;
}

/** The refinement that goes with kafkaSecurityShape: `.refine(...saslTogether)`. */
export const saslTogether = [
  (k: { saslMechanism?: unknown; saslUsername?: unknown }) =>
    (k.saslMechanism === undefined) === (k.saslUsername === undefined),
  { message: 'saslMechanism and saslUsername go together: set both or neither' },
] as const;

/** The client config of those settings (certificates always verified); reads the CA file. */
export function kafkaClientConfig(k: KafkaConnectionSettings): KafkaConfig {
  return {
    brokers: [...k.brokers],
    clientId: k.clientId,
    ...(k.tls
      ? {
          tls: {
            rejectUnauthorized: true,
            ...(k.tlsCaFile ? { ca: readFileSync(k.tlsCaFile, 'utf8') } : {}),
          },
        }
      : {}),
    ...(k.saslMechanism && k.saslUsername
      ? {
          sasl: {
            mechanism: k.saslMechanism,
            username: k.saslUsername,
            password: k.saslPassword ?? '',
          },
        }
      : {}),
  };
}

/** Connection to the brokers and the consumer group. */
export function kafkaBlock(defaults: {
  readonly groupId: string;
  readonly inputTopics: readonly string[];
}) {
  return z
    .strictObject({
      brokers: z
        .array(z.string().min(1))
        .min(1)
        .default(['127.0.0.1:9092'])
        .describe('Kafka bootstrap brokers, host:port.'),
      clientId: z
        .string()
        .min(1)
        .default(`vigil-${defaults.groupId}`)
        .describe('Client id sent to the brokers.'),
      groupId: z
        .string()
        .min(1)
        .default(`vigil-${defaults.groupId}`)
        .describe('Consumer group; replicas of one worker share it.'),
      topics: z
        .array(z.string().min(1))
        .min(1)
        .default([...defaults.inputTopics])
        .describe('Topics consumed.'),
      fromBeginning: z
        .boolean()
        .default(true)
        .describe('Where a new group starts: the oldest record (true) or only new ones.'),
      sessionTimeoutMs: z
        .number()
        .int()
        .min(6000)
        .default(30_000)
        .describe('Group session timeout.'),
      heartbeatIntervalMs: z
        .number()
        .int()
        .min(100)
        .default(3000)
        .describe('Heartbeat interval (also sent during long batches).'),
      partitionsConcurrently: z
        .number()
        .int()
        .min(1)
        .default(1)
        .describe('Partitions whose batches are processed at the same time.'),
      ...kafkaSecurityShape,
    })
    .refine((k) => k.sessionTimeoutMs >= 3 * k.heartbeatIntervalMs, {
      message:
        'heartbeatIntervalMs must be at most a third of sessionTimeoutMs: lower it or raise sessionTimeoutMs',
    })
    .refine(...saslTogether)
    .prefault({});
}

/** How consumed records are cut into batches. */
export const batchBlock = z
  .strictObject({
    maxEvents: z.number().int().min(1).default(500).describe('Most events in one batch.'),
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .default(1_048_576)
      .describe('Most value bytes in one batch (also the fetch size per partition).'),
    maxWaitMs: z
      .number()
      .int()
      .min(1)
      .default(500)
      .describe('Longest a fetch waits for more records before a smaller batch goes.'),
  })
  .prefault({});

/** Backoff of retryable errors (no attempt limit; the partition is paused meanwhile). */
export const retryBlock = z
  .strictObject({
    initialMs: z.number().int().min(1).default(200).describe('First retry delay.'),
    maxMs: z.number().int().min(1).default(30_000).describe('Largest retry delay.'),
    multiplier: z.number().min(1).default(2).describe('Growth of the delay per attempt.'),
    jitter: z.number().min(0).max(1).default(0.5).describe('Random fraction of each delay.'),
  })
  .refine((r) => r.maxMs >= r.initialMs, { message: 'maxMs must be at least initialMs' })
  .prefault({});

/**
 * What the sinks read by default: process events as the enrich worker's ECS documents (JSON), the
 * other families as the verify worker passed them on (protobuf, mapped to ECS by the sink).
 */
export const SINK_INPUT_TOPICS: readonly string[] = [
  'vigil.process.enriched.v1',
  'vigil.session.verified.v1',
  'vigil.status.verified.v1',
  'vigil.trace.verified.v1',
  'vigil.alert.verified.v1',
];

/** The schema registry key of the workers that decode records (`why` ends its description). */
export function registryUrlKey(why: string) {
  return z
    .string()
    .url()
    .default('http://127.0.0.1:8081/apis/ccompat/v7')
    .describe(`Schema registry (Confluent API)${why}`);
}

/** The shared keys of every worker's schema. */
export function workerConfigShape(options: {
  readonly name: string;
  readonly inputTopics: readonly string[];
}) {
  return {
    kafka: kafkaBlock({ groupId: options.name, inputTopics: options.inputTopics }),
    batch: batchBlock,
    retry: retryBlock,
    deadLetterTopic: z
      .string()
      .min(1)
      .default(`vigil.dlq.${options.name}.v1`)
      .describe('Where records that failed permanently go, with headers naming origin and error.'),
    health: z
      .strictObject({
        host: z
          .string()
          .default('0.0.0.0')
          .describe('Address of the /metrics and /healthz server.'),
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .default(9464)
          .describe('Port of /metrics and /healthz (0: any free port).'),
      })
      .prefault({}),
    drainTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe('On SIGTERM, how long in-flight batches may take to finish and commit.'),
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
      .default('info')
      .describe('Log level.'),
  };
}

/** What the run loops read from any worker's config. */
export interface WorkerConfig {
  readonly kafka: z.infer<ReturnType<typeof kafkaBlock>>;
  readonly batch: z.infer<typeof batchBlock>;
  readonly retry: z.infer<typeof retryBlock>;
  readonly deadLetterTopic: string;
  readonly health: { readonly host: string; readonly port: number };
  readonly drainTimeoutMs: number;
  readonly logLevel: string;
}
