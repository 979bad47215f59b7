import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, configTable, loadConfig, redactSecrets } from '@vigil/config/config';
import { workerConfigShape } from './config-blocks.js';

const schema = z.strictObject({
  ...workerConfigShape({ name: 'demo', inputTopics: ['vigil.process.v1'] }),
  own: z.string().default('x'),
});
const load = (env: Record<string, string> = {}, flags: Record<string, unknown> = {}) =>
  loadConfig(schema, { section: 'demo', envPrefix: 'VIGIL_DEMO_', env, flags });

describe('worker config blocks', () => {
  it('has working defaults', () => {
    const config = load();
    expect(config.kafka).toMatchObject({
      brokers: ['127.0.0.1:9092'],
      groupId: 'vigil-demo',
      topics: ['vigil.process.v1'],
    });
    expect(config.batch).toEqual({ maxEvents: 500, maxBytes: 1_048_576, maxWaitMs: 500 });
    expect(config.deadLetterTopic).toBe('vigil.dlq.demo.v1');
    expect(config.health.port).toBe(9464);
  });

  it('maps the environment mechanically', () => {
    const config = load({
      VIGIL_DEMO_KAFKA_BROKERS: 'a:1,b:2',
      VIGIL_DEMO_BATCH_MAX_EVENTS: '10',
      VIGIL_DEMO_RETRY_JITTER: '0',
    });
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.batch.maxEvents).toBe(10);
    expect(config.retry.jitter).toBe(0);
  });

  it('reports every problem at once, with what to do', () => {
    let error: unknown;
    try {
      load({}, { 'batch.maxEvents': 0, 'kafka.heartbeatIntervalMs': 20_000, 'kafka.bogus': 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('demo.batch.maxEvents');
    expect(message).toContain('bogus');
    expect(message).toContain('heartbeatIntervalMs must be at most a third of sessionTimeoutMs');
  });

  it('redacts the SASL password and documents every key', () => {
    const config = load({
      VIGIL_DEMO_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      VIGIL_DEMO_KAFKA_SASL_USERNAME: 'u',
      VIGIL_DEMO_KAFKA_SASL_PASSWORD: 'hunter2',
    });
    expect(JSON.stringify(redactSecrets(schema, config))).not.toContain('hunter2');
    const table = configTable(schema, { section: 'demo', envPrefix: 'VIGIL_DEMO_' });
    expect(table).toContain('`VIGIL_DEMO_BATCH_MAX_WAIT_MS`');
    expect(table).toContain('`VIGIL_DEMO_DRAIN_TIMEOUT_MS`');
  });
});
