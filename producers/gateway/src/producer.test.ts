import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from './config.js';
import { createKafkaProducer, producerProperties } from './producer.js';

const window = { events: 20_000, bytes: 16 * 1024 * 1024 };
const configWith = (env: Record<string, string>) => loadGatewayConfig({ env });
const noEvents = { error: () => undefined };

describe('producerProperties', () => {
  it('defaults: idempotent, acks=all, never gives a record up, Java-compatible partitioner, gzip, plaintext', () => {
    const properties = producerProperties(configWith({}), window);
    expect(properties).toMatchObject({
      'bootstrap.servers': '127.0.0.1:9092',
      'client.id': 'vigil-gateway',
      'enable.idempotence': true,
      acks: -1,
      'message.timeout.ms': 0,
      'allow.auto.create.topics': false,
      partitioner: 'murmur2_random',
      'compression.codec': 'gzip',
      'linger.ms': 5,
      'batch.num.messages': 5000,
      'batch.size': 1_000_000,
      'security.protocol': 'plaintext',
      'queue.buffering.max.messages': 40_000,
      dr_cb: true,
    });
    // The largest frame the gateway accepts is not refused by the client.
    expect(properties['message.max.bytes']).toBeGreaterThan(1024 * 1024);
    expect(properties).not.toHaveProperty('ssl.ca.location');
    expect(properties).not.toHaveProperty('sasl.mechanisms');
  });

  it('TLS verifies the certificate and the host name, against the CA file when given', () => {
    expect(
      producerProperties(
        configWith({
          VIGIL_GATEWAY_KAFKA_TLS_ENABLED: 'true',
          VIGIL_GATEWAY_KAFKA_TLS_CA_FILE: '/etc/vigil/ca.pem',
        }),
        window,
      ),
    ).toMatchObject({
      'security.protocol': 'ssl',
      'enable.ssl.certificate.verification': true,
      'ssl.endpoint.identification.algorithm': 'https',
      'ssl.ca.location': '/etc/vigil/ca.pem',
    });
    expect(
      producerProperties(
        configWith({
          VIGIL_GATEWAY_KAFKA_TLS_ENABLED: 'true',
          VIGIL_GATEWAY_KAFKA_TLS_REJECT_UNAUTHORIZED: 'false',
        }),
        window,
      ),
    ).toMatchObject({
      'enable.ssl.certificate.verification': false,
      'ssl.endpoint.identification.algorithm': 'none',
    });
  });

  it.each([
    ['scram-sha-256', 'false', 'sasl_plaintext', 'SCRAM-SHA-256'],
    ['scram-sha-512', 'true', 'sasl_ssl', 'SCRAM-SHA-512'],
  ])('SASL %s (TLS %s) → %s %s', (mechanism, tls, protocol, mechanisms) => {
    const properties = producerProperties(
      configWith({
        VIGIL_GATEWAY_KAFKA_TLS_ENABLED: tls,
        VIGIL_GATEWAY_KAFKA_SASL_MECHANISM: mechanism,
        VIGIL_GATEWAY_KAFKA_SASL_USERNAME: 'gw',
        VIGIL_GATEWAY_KAFKA_SASL_PASSWORD: 'secret',
      }),
      window,
    );
    expect(properties).toMatchObject({
      'security.protocol': protocol,
      'sasl.mechanisms': mechanisms,
      'sasl.username': 'gw',
      'sasl.password': 'secret',
    });
  });

  it('librdkafka accepts every variant (it checks names and values when the client is made)', async () => {
    const variants: Record<string, string>[] = [
      {},
      { VIGIL_GATEWAY_KAFKA_COMPRESSION: 'none' },
      { VIGIL_GATEWAY_KAFKA_TLS_ENABLED: 'true', VIGIL_GATEWAY_KAFKA_TLS_CA_FILE: '/dev/null' },
      {
        VIGIL_GATEWAY_KAFKA_TLS_ENABLED: 'true',
        VIGIL_GATEWAY_KAFKA_SASL_MECHANISM: 'scram-sha-512',
        VIGIL_GATEWAY_KAFKA_SASL_USERNAME: 'gw',
        VIGIL_GATEWAY_KAFKA_SASL_PASSWORD: 'secret',
      },
    ];
    for (const env of variants) {
      const producer = createKafkaProducer(producerProperties(configWith(env), window), {
        metadataTimeoutMs: 1000,
        events: noEvents,
      });
      await producer.disconnect();
    }
    expect(() =>
      createKafkaProducer(
        { ...producerProperties(configWith({}), window), 'linger.msec': 5 } as never,
        { metadataTimeoutMs: 1000, events: noEvents },
      ),
    ).toThrow(/linger\.msec/);
  });
});
