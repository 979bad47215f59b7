import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatewayConfigTable, loadGatewayConfig } from './config.js';

describe('loadGatewayConfig', () => {
  it('has working defaults: UDP 7971 on IPv4 and IPv6, gzip, idempotent-friendly batches', () => {
    const config = loadGatewayConfig({ env: {} });
    expect(config.listen).toEqual(['udp:0.0.0.0:7971', 'udp:[::]:7971']);
    expect(config.kafka.compression).toBe('gzip');
    expect(config.spool.fsync).toBe('interval');
  });

  it('reads the gateway section of a file, then the environment, then flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-gw-config-'));
    const file = join(dir, 'vigil.yaml');
    writeFileSync(
      file,
      'gateway:\n  id: from-file\n  listen: ["tcp:127.0.0.1:7972"]\n  spool: { fsync: always }\nstack: { other: 1 }\n',
    );
    const config = loadGatewayConfig({
      file,
      env: {
        VIGIL_GATEWAY_KAFKA_BROKERS: 'a:9092,b:9092',
        VIGIL_GATEWAY_SPOOL_MAX_BYTES: '1000000',
      },
      flags: { id: 'from-flag' },
    });
    expect(config.id).toBe('from-flag');
    expect(config.listen).toEqual(['tcp:127.0.0.1:7972']);
    expect(config.kafka.brokers).toEqual(['a:9092', 'b:9092']);
    expect(config.spool).toMatchObject({ fsync: 'always', maxBytes: 1_000_000 });
  });

  it('reports every bad key at once, by name', () => {
    let message = '';
    try {
      loadGatewayConfig({
        env: {
          VIGIL_GATEWAY_LISTEN: 'udp:0.0.0.0:7971,http:x:1',
          VIGIL_GATEWAY_SPOOL_FSYNC: 'sometimes',
          VIGIL_GATEWAY_NOPE: '1',
        },
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('gateway.listen.1');
    expect(message).toContain('gateway.spool.fsync');
    expect(message).toContain('VIGIL_GATEWAY_NOPE');
  });

  it('wants a user and password with SASL', () => {
    expect(() =>
      loadGatewayConfig({ env: { VIGIL_GATEWAY_KAFKA_SASL_MECHANISM: 'scram-sha-512' } }),
    ).toThrow(/gateway\.kafka\.sasl\.username/);
  });
});

describe('README', () => {
  it('carries the generated config table', () => {
    // Prettier pads Markdown tables; compare the cells, not the padding.
    const cells = (text: string) =>
      text
        .split('\n')
        .filter((line) => line.startsWith('|'))
        .map((line) => line.replace(/\s+/g, ' ').replace(/-{3,}/g, '---'));
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(cells(readme)).toEqual(expect.arrayContaining(cells(gatewayConfigTable())));
  });
});
