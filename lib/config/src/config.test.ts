import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  configFileFromArgs,
  configTable,
  envName,
  loadConfig,
  redactSecrets,
  secret,
} from './config.js';

const schema = z.strictObject({
  listen: z.array(z.string()).default(['udp:0.0.0.0:7971']).describe('where to listen'),
  kafka: z
    .strictObject({
      brokers: z.array(z.string()).default(['127.0.0.1:9092']),
      requestTimeoutMs: z.int().positive().default(30_000),
      password: secret(z.string().optional()),
      tls: z.boolean().default(false),
    })
    .prefault({}),
});
const options = { section: 'gateway', envPrefix: 'VIGIL_GATEWAY_', env: {} };

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vigil-config-')), 'vigil.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills every default', () => {
    expect(loadConfig(schema, options)).toEqual({
      listen: ['udp:0.0.0.0:7971'],
      kafka: { brokers: ['127.0.0.1:9092'], requestTimeoutMs: 30_000, tls: false },
    });
  });

  it('layers defaults < file < environment < flags', () => {
    const file = yamlFile(
      'gateway:\n  kafka:\n    requestTimeoutMs: 5000\n    tls: true\nother:\n  ignored: 1\n',
    );
    const env = {
      VIGIL_GATEWAY_KAFKA_REQUEST_TIMEOUT_MS: '7000',
      VIGIL_GATEWAY_LISTEN: 'udp:[::1]:7971, unix:/run/g.sock',
    };
    const defaults = { 'kafka.brokers': ['10.0.0.1:9092'], 'kafka.requestTimeoutMs': 1 };
    const config = loadConfig(schema, {
      ...options,
      file,
      env,
      defaults,
      flags: { 'kafka.tls': false },
    });
    expect(config.kafka.brokers).toEqual(['10.0.0.1:9092']);
    expect(config.kafka.requestTimeoutMs).toBe(7000);
    expect(config.kafka.tls).toBe(false);
    expect(config.listen).toEqual(['udp:[::1]:7971', 'unix:/run/g.sock']);
  });

  it('reports every problem at once, each naming its key or variable', () => {
    const file = yamlFile('gateway:\n  kafka:\n    requestTimeoutMs: -1\n    brokrs: []\n');
    const problems = problemsOf(() =>
      loadConfig(schema, {
        ...options,
        file,
        env: { VIGIL_GATEWAY_KAFKA_TLS: 'maybe', VIGIL_GATEWAY_NOPE: '1' },
      }),
    );
    expect(problems.some((p) => p.startsWith('VIGIL_GATEWAY_NOPE: not a gateway setting'))).toBe(
      true,
    );
    expect(problems.some((p) => p.startsWith('gateway.kafka.requestTimeoutMs:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('gateway.kafka:') && p.includes('brokrs'))).toBe(true);
    expect(
      problems.some(
        (p) => p.startsWith('gateway.kafka.tls:') && p.includes('(from VIGIL_GATEWAY_KAFKA_TLS)'),
      ),
    ).toBe(true);
  });

  it('says which file could not be read or parsed', () => {
    expect(() => loadConfig(schema, { ...options, file: '/no/such/vigil.yaml' })).toThrow(
      /\/no\/such\/vigil.yaml/,
    );
    expect(() => loadConfig(schema, { ...options, file: yamlFile('gateway: [1, 2') })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig(schema, { ...options, file: yamlFile('gateway: 3\n') })).toThrow(
      /gateway: expected a mapping/,
    );
  });
});

describe('environment values', () => {
  it('reads each as its schema means it: literals, enums, numbers, booleans, lists, text', () => {
    const typed = z.strictObject({
      version: z.union([z.literal(2), z.literal(3)]).default(2),
      level: z.enum(['info', 'warn']).default('info'),
      code: z.string().default('x'),
    });
    const env = { V_VERSION: '3', V_LEVEL: 'warn', V_CODE: '0042' };
    expect(loadConfig(typed, { section: 'v', envPrefix: 'V_', env })).toEqual({
      version: 3,
      level: 'warn',
      code: '0042',
    });
    expect(() =>
      loadConfig(typed, { section: 'v', envPrefix: 'V_', env: { V_VERSION: '4' } }),
    ).toThrow(/v\.version/);
  });
});

describe('docs and secrets', () => {
  it('redacts secrets inside lists of tagged unions and records', () => {
    const sources = z.strictObject({
      sources: z.array(
        z.discriminatedUnion('type', [
          z.strictObject({
            type: z.literal('basic'),
            user: z.string(),
            password: secret(z.string()),
          }),
          z.strictObject({ type: z.literal('bearer'), token: secret(z.string()).optional() }),
        ]),
      ),
      headers: z.record(z.string(), secret(z.string())).default({}),
    });
    const config = sources.parse({
      sources: [
        { type: 'basic', user: 'nagios', password: 'pw1' },
        { type: 'bearer', token: 'tok2' },
        { type: 'bearer' },
      ],
      headers: { authorization: 'Bearer tok3' },
    });
    const safe = redactSecrets(sources, config);
    expect(safe.sources[0]).toEqual({ type: 'basic', user: 'nagios', password: '[redacted]' });
    expect(safe.sources[1]).toEqual({ type: 'bearer', token: '[redacted]' });
    expect(safe.sources[2]).toEqual({ type: 'bearer' });
    expect(safe.headers).toEqual({ authorization: '[redacted]' });
    expect(JSON.stringify(safe)).not.toMatch(/pw1|tok2|tok3/);
    expect(config.sources[0]).toMatchObject({ password: 'pw1' });
  });

  it('maps key paths to environment names mechanically', () => {
    expect(envName('VIGIL_STACK_', ['kafka', 'controllerPort'])).toBe(
      'VIGIL_STACK_KAFKA_CONTROLLER_PORT',
    );
  });

  it('generates the config table from the schema', () => {
    const table = configTable(schema, options);
    expect(table).toContain(
      '| `listen` | `VIGIL_GATEWAY_LISTEN` | `["udp:0.0.0.0:7971"]` | where to listen |',
    );
    expect(table).toContain('`kafka.requestTimeoutMs`');
  });

  it('redacts secrets and nothing else', () => {
    const config = loadConfig(schema, {
      ...options,
      env: { VIGIL_GATEWAY_KAFKA_PASSWORD: 's3cret' },
    });
    const safe = redactSecrets(schema, config);
    expect(safe.kafka.password).toBe('[redacted]');
    expect(safe.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.kafka.password).toBe('s3cret');
    expect(JSON.stringify(safe)).not.toContain('s3cret');
  });
});

describe('configFileFromArgs', () => {
  it.each([
    [['node', 'main.js', '--config', 'a.yaml'], {}, 'a.yaml'],
    [['node', 'main.js', '-c', 'b.yaml'], {}, 'b.yaml'],
    [['node', 'main.js', '--config=c.yaml'], { VIGIL_CONFIG: 'env.yaml' }, 'c.yaml'],
    [['node', 'main.js'], { VIGIL_CONFIG: 'env.yaml' }, 'env.yaml'],
    [['node', 'main.js', '--config'], {}, undefined],
    [['node', 'main.js'], { VIGIL_CONFIG: '' }, undefined],
  ])('%j with %j → %s', (argv, env, expected) => {
    expect(configFileFromArgs(argv, env)).toBe(expected);
  });
});
