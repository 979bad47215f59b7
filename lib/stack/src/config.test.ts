import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadStackConfig, stackConfigSchema } from './config.js';
import { StackError } from './errors.js';

const HOME = { HOME: '/home/alice' };

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vigil-stack-config-')), 'vigil.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(StackError);
    return (error as StackError).message;
  }
  throw new Error('expected loadStackConfig to throw');
}

describe('loadStackConfig', () => {
  it('fills every default', () => {
    const config = loadStackConfig({ env: HOME });
    expect(config).toEqual({
      cacheDir: '/home/alice/.cache/vigil',
      stateDir: '/home/alice/.local/state/vigil/stack',
      kafka: { version: '4.3.1', port: 9092, controllerPort: 9093, heapMb: 512 },
      registry: { version: '3.0.9', port: 8081, managementPort: 8091, heapMb: 512 },
      elasticsearch: { enabled: true, port: 9200, transportPort: 9300 },
      startTimeoutMs: 240_000,
    });
  });

  it.each([
    [{ ...HOME, XDG_CACHE_HOME: '/xdg' }, '/xdg/vigil', '/home/alice/.local/state/vigil/stack'],
    [
      { ...HOME, XDG_CACHE_HOME: '/xdg', VIGIL_CACHE_DIR: '/c' },
      '/c',
      '/home/alice/.local/state/vigil/stack',
    ],
    [{ ...HOME, VIGIL_STATE_DIR: '/s' }, '/home/alice/.cache/vigil', '/s'],
  ])('derives directories from %o', (env, cacheDir, stateDir) => {
    expect(loadStackConfig({ env })).toMatchObject({ cacheDir, stateDir });
  });

  it('reads the stack: key of a file and ignores the other keys', () => {
    const file = yamlFile(
      'gateway:\n  listen: [udp:0.0.0.0:7971]\nstack:\n  kafka:\n    port: 19092\n  startTimeoutMs: 5000\n',
    );
    const config = loadStackConfig({ file, env: HOME });
    expect(config.kafka).toEqual({
      version: '4.3.1',
      port: 19092,
      controllerPort: 9093,
      heapMb: 512,
    });
    expect(config.startTimeoutMs).toBe(5000);
  });

  it('lets the environment override the file, one mechanical mapping', () => {
    const file = yamlFile('stack:\n  kafka:\n    port: 19092\n    version: 4.1.1\n');
    const config = loadStackConfig({
      file,
      env: {
        ...HOME,
        VIGIL_STACK_KAFKA_PORT: '29092',
        VIGIL_STACK_KAFKA_VERSION: '3.9.2',
        VIGIL_STACK_KAFKA_CONTROLLER_PORT: '29093',
        VIGIL_STACK_ELASTICSEARCH_ENABLED: 'false',
        VIGIL_STACK_CACHE_DIR: '/cache',
      },
    });
    expect(config.kafka).toMatchObject({ port: 29092, controllerPort: 29093, version: '3.9.2' });
    expect(config.elasticsearch.enabled).toBe(false);
    expect(config.cacheDir).toBe('/cache');
  });

  it('rejects an unknown key in the file, naming it', () => {
    const file = yamlFile('stack:\n  kafka:\n    prot: 9092\n');
    expect(problemsOf(() => loadStackConfig({ file, env: HOME }))).toMatch(
      /stack\.kafka: Unrecognized key: "prot"/,
    );
  });

  it('rejects an unknown VIGIL_STACK_ variable, naming it', () => {
    expect(
      problemsOf(() => loadStackConfig({ env: { ...HOME, VIGIL_STACK_KAFKA_PROT: '1' } })),
    ).toMatch(/VIGIL_STACK_KAFKA_PROT: not a stack setting/);
  });

  it('reports every bad value with its key and the variable it came from', () => {
    const file = yamlFile('stack:\n  registry:\n    port: 70000\n');
    const message = problemsOf(() =>
      loadStackConfig({ file, env: { ...HOME, VIGIL_STACK_KAFKA_PORT: 'ninety' } }),
    );
    expect(message).toContain(file);
    expect(message).toMatch(/stack\.kafka\.port: .*\(from VIGIL_STACK_KAFKA_PORT\)/);
    expect(message).toMatch(/stack\.registry\.port: /);
  });

  it('rejects a malformed version with a hint', () => {
    expect(
      problemsOf(() => loadStackConfig({ env: { ...HOME, VIGIL_STACK_KAFKA_VERSION: 'latest' } })),
    ).toMatch(/stack\.kafka\.version: expected a release like 4\.3\.1/);
  });

  it('treats a file without a stack: key as all defaults', () => {
    expect(loadStackConfig({ file: yamlFile('other: 1\n'), env: HOME }).kafka.port).toBe(9092);
  });

  it('names the file when it cannot be read', () => {
    expect(
      problemsOf(() => loadStackConfig({ file: '/nonexistent/vigil.yaml', env: HOME })),
    ).toMatch(/reading config file \/nonexistent\/vigil\.yaml/);
  });
});

describe('stackConfigSchema', () => {
  it('parses an empty object into a working config', () => {
    expect(stackConfigSchema.parse({ cacheDir: '/c', stateDir: '/s' }).kafka.port).toBe(9092);
  });
});
