import { configTable, loadConfig, secret } from '@vigil/config/config';
import { z } from 'zod';
import { parseListen } from './listen.js';

/**
 * The gateway's configuration: the `gateway:` section of the Vigil config file, `VIGIL_GATEWAY_*`
 * overrides. Validated once, before any socket or file is opened.
 */
const listenAddress = z.string().superRefine((value, ctx) => {
  const parsed = parseListen(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

export const gatewayConfigSchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .optional()
    .describe('This gateway, in the gateway_id Kafka header. Default: the host name'),
  listen: z
    .array(listenAddress)
    .min(1)
    .default(['udp:0.0.0.0:7971', 'udp:[::]:7971'])
    .describe(
      'Where to receive: udp:<host>:<port>, unixgram:<path> (one datagram = one message), tcp:<host>:<port>, unix:<path> (uint32 BE length-prefixed)',
    ),
  maxDatagramBytes: z
    .int()
    .min(64)
    .max(65_507)
    .default(65_507)
    .describe('Largest datagram accepted'),
  maxFrameBytes: z
    .int()
    .min(64)
    .max(1024 * 1024)
    .default(1024 * 1024)
    .describe('Largest length-prefixed message on a stream'),
  receiveBufferBytes: z
    .int()
    .min(0)
    .default(8 * 1024 * 1024)
    .describe(
      'SO_RCVBUF of datagram sockets (capped by net.core.rmem_max); 0 keeps the system default',
    ),
  maxQueueBytes: z
    .int()
    .min(1024 * 1024)
    .default(64 * 1024 * 1024)
    .describe(
      'UDP datagrams received (by the receive thread) but not yet spooled; beyond it they are dropped and counted (reason overload)',
    ),
  idleTimeoutMs: z
    .int()
    .min(0)
    .default(300_000)
    .describe(
      'A stream client silent this long is disconnected (a half frame is counted as truncated); 0 never',
    ),
  maxConnections: z.int().min(1).default(1024).describe('Stream clients at once; more are refused'),
  kafka: z
    .strictObject({
      brokers: z
        .array(z.string().min(1))
        .min(1)
        .default(['127.0.0.1:9092'])
        .describe('Bootstrap brokers'),
      clientId: z.string().min(1).default('vigil-gateway').describe('Kafka client id'),
      topicPrefix: z
        .string()
        .default('')
        .describe('Prepended to every family topic (tests use their own topics)'),
      compression: z
        .enum(['gzip', 'none'])
        .default('gzip')
        .describe(
          'Record batch compression; gzip, as the workers read with kafkajs, which decodes no other codec',
        ),
      compressionLevel: z
        .int()
        .min(-1)
        .max(9)
        .default(1)
        .describe(
          'gzip level (librdkafka compression.level; -1: zlib\u2019s default, 6): 1 costs the gateway\u2019s node a fraction of the CPU for a slightly larger batch',
        ),
      tls: z
        .strictObject({
          enabled: z.boolean().default(false).describe('TLS to the brokers'),
          caFile: z
            .string()
            .min(1)
            .optional()
            .describe('PEM file of the CA to trust; default: the system CAs'),
          rejectUnauthorized: z
            .boolean()
            .default(true)
            .describe('Verify the brokers\u2019 certificates (keep it on)'),
        })
        .prefault({}),
      sasl: z
        .strictObject({
          mechanism: z
            .enum(['none', 'scram-sha-256', 'scram-sha-512'])
            .default('none')
            .describe('SASL mechanism'),
          username: z.string().default('').describe('SASL user'),
          password: secret(z.string().default('')).describe('SASL password (redacted in logs)'),
        })
        .superRefine((sasl, ctx) => {
          if (sasl.mechanism === 'none') return;
          for (const key of ['username', 'password'] as const) {
            if (!sasl[key])
              ctx.addIssue({
                code: 'custom',
                path: [key],
                message: `required with mechanism ${sasl.mechanism}`,
              });
          }
        })
        .prefault({}),
      connectionTimeoutMs: z
        .int()
        .positive()
        .default(3000)
        .describe('Connection setup timeout (TCP, TLS, SASL)'),
      requestTimeoutMs: z
        .int()
        .positive()
        .default(10_000)
        .describe(
          'A produce request unanswered this long is sent again (records are never given up); Kafka counts as down (gateway_kafka_up, /healthz) while a batch waits longer',
        ),
    })
    .prefault({}),
  registry: z
    .strictObject({
      url: z
        .url()
        .default('http://127.0.0.1:8081/apis/ccompat/v7')
        .describe('Confluent-compatible schema registry (schema ids for the framing)'),
      username: z.string().optional().describe('Registry user'),
      password: secret(z.string().optional()).describe('Registry password (redacted in logs)'),
    })
    .prefault({}),
  batch: z
    .strictObject({
      maxEvents: z
        .int()
        .positive()
        .default(5000)
        .describe(
          'Events per spool read handed to Kafka at once, and per librdkafka batch (batch.num.messages); four reads are in flight at most',
        ),
      maxBytes: z
        .int()
        .positive()
        .default(4 * 1024 * 1024)
        .describe(
          'Spooled bytes per read handed to Kafka at once (a request carries at most 1 MB per partition)',
        ),
      lingerMs: z
        .int()
        .min(0)
        .default(5)
        .describe('How long a partition\u2019s batch waits for more events (librdkafka linger.ms)'),
    })
    .prefault({}),
  retry: z
    .strictObject({
      initialMs: z.int().positive().default(100).describe('First backoff after a failed produce'),
      maxMs: z
        .int()
        .positive()
        .default(5000)
        .describe('Backoff cap (no attempt limit: the spool holds the events)'),
    })
    .prefault({}),
  spool: z
    .strictObject({
      dir: z
        .string()
        .min(1)
        .default('/var/spool/vigil/gateway')
        .describe('Spool directory (one gateway per directory)'),
      maxBytes: z
        .int()
        .positive()
        .default(1024 * 1024 * 1024)
        .describe(
          'Bound of the spooled bytes not yet in Kafka; when full the newest events are dropped and counted (files may exceed it by up to two segments)',
        ),
      segmentBytes: z
        .int()
        .min(64 * 1024)
        .default(16 * 1024 * 1024)
        .describe('Size of one segment file'),
      fsync: z
        .enum(['always', 'interval', 'never'])
        .default('interval')
        .describe(
          'always: fsync every write; interval: every fsyncIntervalMs; never: the OS decides',
        ),
      fsyncIntervalMs: z
        .int()
        .positive()
        .default(1000)
        .describe('fsync period of the interval policy'),
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1').describe('Address of /metrics and /healthz'),
      port: z
        .int()
        .min(0)
        .max(65_535)
        .default(9471)
        .describe('Port of /metrics and /healthz (0: any free port)'),
    })
    .prefault({}),
  shutdownTimeoutMs: z
    .int()
    .positive()
    .default(10_000)
    .describe(
      'On SIGTERM, how long to keep sending the backlog before exiting (the spool keeps the rest)',
    ),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('Log level'),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export const GATEWAY_SECTION = 'gateway';
export const GATEWAY_ENV_PREFIX = 'VIGIL_GATEWAY_';

/**
 * Defaults < the `gateway:` section of `file` < `VIGIL_GATEWAY_*` < flags. Synchronous.
 * @throws {ConfigError} naming every bad key.
 */
export function loadGatewayConfig(
  options: {
    file?: string | undefined;
    env?: NodeJS.ProcessEnv;
    flags?: Record<string, unknown>;
  } = {},
): GatewayConfig {
  const config = loadConfig(gatewayConfigSchema, {
    section: GATEWAY_SECTION,
    envPrefix: GATEWAY_ENV_PREFIX,
    file: options.file,
    ...(options.env ? { env: options.env } : {}),
    ...(options.flags ? { flags: options.flags } : {}),
  });
  return config;
}

/** The README table of every setting. Pure. */
export function gatewayConfigTable(): string {
  return configTable(gatewayConfigSchema, {
    section: GATEWAY_SECTION,
    envPrefix: GATEWAY_ENV_PREFIX,
  });
}
