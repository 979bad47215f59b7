import rdkafka, {
  type DeliveryReport,
  type LibrdKafkaError,
  type MessageHeader,
  type ProducerGlobalConfig,
  type ProducerTopicConfig,
} from '@confluentinc/kafka-javascript';
import type { GatewayConfig } from './config.js';

/**
 * The gateway's Kafka client: librdkafka (`@confluentinc/kafka-javascript`, its native API) behind
 * the small `RecordProducer` seam the publisher drives. librdkafka batches per partition
 * (linger.ms), compresses and sends on its own threads with several requests in flight while the
 * idempotent producer keeps each partition's order; the gateway only queues records and counts
 * delivery reports.
 */

/** One record for Kafka: the framed value, its key and the receipt headers. */
export interface KafkaRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer;
  /** Header name → value, one object per header (librdkafka's shape). */
  readonly headers: MessageHeader[];
}

/** The producer seam: what the publisher needs from a Kafka client. */
export interface RecordProducer {
  /** Resolves once the brokers answered (metadata); rejects when they cannot be reached in time. */
  connect(): Promise<void>;
  /**
   * Queues `records` in order and resolves once Kafka acknowledged every one of them (acks=all);
   * rejects with the first delivery error, or at once when the client refuses to queue a record
   * (not connected, queue full). Several calls may be outstanding at once: per key, records reach
   * Kafka in the order they were queued.
   */
  send(records: readonly KafkaRecord[]): Promise<void>;
  /** Abandons what is still queued (its promises never settle) and closes. Resolves when closed. */
  disconnect(): Promise<void>;
}

/** What the client reports besides deliveries: connection trouble, fatal errors. */
export interface ProducerEvents {
  /** A client-level error: brokers down, authentication failed, … (`fatal`: a new producer is needed). */
  error(error: Error, fatal: boolean): void;
}

/** librdkafka properties (topic-level ones such as acks apply to every topic). */
export type ProducerProperties = ProducerGlobalConfig & ProducerTopicConfig;

/** librdkafka error codes of interest (librdkafka rdkafka.h `rd_kafka_resp_err_t`). */
export const ALL_BROKERS_DOWN = -187;

/**
 * librdkafka properties of the gateway's producer, from the validated config. Pure.
 *
 * - Idempotent (acks=all, at most 5 requests in flight per broker, retries without limit), so
 *   librdkafka's own retries neither duplicate nor reorder records of a partition.
 * - `message.timeout.ms: 0`: a queued record is never given up while Kafka is away; the window
 *   the publisher keeps in flight bounds what waits in memory, the spool holds the rest.
 * - Partitioner `murmur2_random`: the Java client's (and kafkajs') murmur2 hash of the key, so a
 *   key lands on the same partition as before the change of client and as any Java producer.
 */
export function producerProperties(
  config: Pick<GatewayConfig, 'kafka' | 'batch' | 'maxFrameBytes'>,
  window: { readonly events: number; readonly bytes: number },
): ProducerProperties {
  const { kafka, batch } = config;
  const tls = kafka.tls.enabled;
  const sasl = kafka.sasl.mechanism !== 'none';
  const properties: ProducerProperties = {
    'bootstrap.servers': kafka.brokers.join(','),
    'client.id': kafka.clientId,
    'enable.idempotence': true,
    acks: -1,
    'max.in.flight.requests.per.connection': 5,
    'message.timeout.ms': 0,
    'allow.auto.create.topics': false,
    partitioner: 'murmur2_random',
    'compression.codec': kafka.compression,
    'compression.level': kafka.compressionLevel,
    'linger.ms': batch.lingerMs,
    'batch.num.messages': batch.maxEvents,
    // One produce request per partition stays under the broker's default message.max.bytes.
    'batch.size': Math.min(batch.maxBytes, 1_000_000),
    // The largest record the gateway accepts still fits (the broker's topic limit applies too).
    'message.max.bytes': Math.max(1_000_000, config.maxFrameBytes + 64 * 1024),
    // Twice the publisher's window: queueing never fails for lack of room.
    'queue.buffering.max.messages': window.events * 2,
    'queue.buffering.max.kbytes': Math.ceil((window.bytes * 2) / 1024),
    'socket.connection.setup.timeout.ms': kafka.connectionTimeoutMs,
    'request.timeout.ms': kafka.requestTimeoutMs,
    'retry.backoff.ms': 100,
    'retry.backoff.max.ms': 1000,
    'reconnect.backoff.ms': 100,
    'reconnect.backoff.max.ms': 1000,
    'security.protocol': tls ? (sasl ? 'sasl_ssl' : 'ssl') : sasl ? 'sasl_plaintext' : 'plaintext',
    dr_cb: true,
  };
  if (tls) {
    properties['enable.ssl.certificate.verification'] = kafka.tls.rejectUnauthorized;
    // Host name checked against the certificate, as Node's TLS does for kafkajs.
    properties['ssl.endpoint.identification.algorithm'] = kafka.tls.rejectUnauthorized
      ? 'https'
      : 'none';
    // Without a CA file, OpenSSL's default store: the system CAs (ca-certificates).
    if (kafka.tls.caFile) properties['ssl.ca.location'] = kafka.tls.caFile;
  }
  if (sasl) {
    properties['sasl.mechanisms'] = kafka.sasl.mechanism.toUpperCase();
    properties['sasl.username'] = kafka.sasl.username;
    properties['sasl.password'] = kafka.sasl.password;
  }
  return properties;
}

/** One `send` call waiting for its delivery reports. */
interface Pending {
  remaining: number;
  settled: boolean;
  resolve(): void;
  reject(error: Error): void;
}

/** A LibrdKafkaError (a plain object in places) as an Error with its code. */
function asError(error: LibrdKafkaError | Error, step: string): Error & { code?: number } {
  const message = `${step}: ${error.message}`;
  return Object.assign(new Error(message, { cause: error }), {
    code: (error as LibrdKafkaError).code,
  });
}

/** Creates a producer; no I/O until `connect`. */
export function createKafkaProducer(
  properties: ProducerProperties,
  options: { readonly metadataTimeoutMs: number; readonly events: ProducerEvents },
): RecordProducer {
  const client = new rdkafka.Producer(properties);
  let closed = false;

  client.on('event.error', (error: LibrdKafkaError) => {
    if (!closed) options.events.error(asError(error, 'kafka client'), error.isFatal === true);
  });
  client.on('delivery-report', (error: LibrdKafkaError | null, report: DeliveryReport) => {
    const pending = report.opaque as Pending | undefined;
    if (!pending || pending.settled) return;
    if (error) {
      pending.settled = true;
      pending.reject(asError(error, `delivering to ${report.topic}`));
    } else if (--pending.remaining === 0) {
      pending.settled = true;
      pending.resolve();
    }
  });

  return {
    connect() {
      return new Promise((resolve, reject) => {
        client.connect({ allTopics: false, timeout: options.metadataTimeoutMs }, (error) => {
          if (error) return reject(asError(error as LibrdKafkaError, 'connecting to kafka'));
          // Delivery reports are polled on librdkafka's thread and handed to the event loop as
          // they come (no poll interval to wait for).
          client.setPollInBackground(true);
          resolve();
        });
      });
    },

    send(records) {
      return new Promise<void>((resolve, reject) => {
        if (records.length === 0) return resolve();
        const pending: Pending = { remaining: records.length, settled: false, resolve, reject };
        for (const record of records) {
          try {
            client.produce(
              record.topic,
              null,
              record.value,
              record.key,
              null,
              pending,
              record.headers,
            );
          } catch (error) {
            // Records queued before this one may still be delivered: duplicates, never loss.
            pending.settled = true;
            reject(asError(error as LibrdKafkaError, 'queueing a record'));
            return;
          }
        }
      });
    },

    disconnect() {
      if (closed) return Promise.resolve();
      closed = true;
      if (!client.isConnected()) return Promise.resolve();
      // No flush: what is still queued is abandoned (the spool sends it again).
      return new Promise((resolve) => client.disconnect(0, () => resolve()));
    },
  };
}
