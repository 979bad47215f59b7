import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRecorderConfig, parseGatewayAddress, recorderConfigTable } from './config.js';
import { quickSpawnSettings } from './quick-config.js';

describe('recorder config', () => {
  it.each([
    ['unix:/run/vigil/gateway.sock', { path: '/run/vigil/gateway.sock' }],
    ['tcp:127.0.0.1:7972', { host: '127.0.0.1', port: 7972 }],
    ['tcp:[::1]:7972', { host: '::1', port: 7972 }],
    ['unix:relative.sock', /absolute/],
    ['tcp:host', /expected/],
    ['udp:1.2.3.4:5', /expected/],
  ])('parses %s', (text, expected) => {
    const parsed = parseGatewayAddress(text);
    if (expected instanceof RegExp) expect(parsed).toMatch(expected);
    else expect(parsed).toEqual(expected);
  });

  it('layers defaults < env < flags and names every bad key', () => {
    const config = loadRecorderConfig({
      env: { VIGIL_RECORDER_INPUT: 'true' },
      flags: { 'file.path': '/tmp/x.cast' },
    });
    expect(config).toMatchObject({
      input: true,
      file: { path: '/tmp/x.cast', version: 2 },
      gateway: { address: 'unix:/run/vigil/gateway.sock' },
    });
    expect(() =>
      loadRecorderConfig({
        env: { VIGIL_RECORDER_GATEWAY_ADDRESS: 'udp:x:1', VIGIL_RECORDER_BATCH_MAX_BYTES: '1' },
      }),
    ).toThrow(/gateway\.address[\s\S]*batch\.maxBytes|batch\.maxBytes[\s\S]*gateway\.address/);
  });

  it('README has the generated config table (cells compared, so Prettier may align it)', () => {
    const cells = (text: string) =>
      text
        .split('\n')
        .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
        .map((line) =>
          line
            .split('|')
            .map((cell) => cell.trim())
            .join('|'),
        );
    const readme = cells(readFileSync(new URL('../README.md', import.meta.url), 'utf8'));
    for (const row of cells(recorderConfigTable())) expect(readme).toContain(row);
  });

  describe('the spawn settings read before zod (quick-config.ts)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rec-config-'));
    const yaml = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const cases: [
      string,
      { file?: string; env?: NodeJS.ProcessEnv; flags?: Record<string, unknown> },
    ][] = [
      ['defaults', {}],
      [
        'file < env < flags',
        {
          file: yaml(
            'a.yaml',
            'recorder:\n  shell: /bin/zsh\n  input: true\n  shellIntegration: false\n  file: {path: /tmp/a.cast, version: 3}\n  batch: {maxBytes: 2048, maxDelayMs: 0}\ngateway: {other: component}\n',
          ),
          env: { VIGIL_RECORDER_SHELL: '/bin/bash', VIGIL_RECORDER_INPUT: ' FALSE ' },
          flags: { 'file.path': '/tmp/b.cast', input: true },
        },
      ],
      [
        'environment only',
        {
          env: {
            VIGIL_RECORDER_SHELL_INTEGRATION: 'false',
            VIGIL_RECORDER_FILE_PATH: '/tmp/c.cast',
            VIGIL_RECORDER_BATCH_MAX_BYTES: '4096',
            VIGIL_RECORDER_BATCH_MAX_DELAY_MS: '5',
          },
        },
      ],
      ['a file version from the environment', { env: { VIGIL_RECORDER_FILE_VERSION: '3' } }],
      ['an empty file', { file: yaml('empty.yaml', '') }],
      ['a file without the section', { file: yaml('other.yaml', 'gateway:\n  x: 1\n') }],
    ];
    it.each(cases)('agree with loadRecorderConfig: %s', async (_name, options) => {
      const quick = await quickSpawnSettings(options);
      const full = loadRecorderConfig(options);
      if (options.env?.VIGIL_RECORDER_FILE_VERSION) expect(full.file.version).toBe(3);
      expect(quick).toEqual({
        shell: full.shell,
        shellIntegration: full.shellIntegration,
        input: full.input,
        file: { path: full.file.path, version: full.file.version },
        batch: full.batch,
      });
    });

    it.each([
      ['a non-boolean input', { env: { VIGIL_RECORDER_INPUT: 'yes' } }],
      ['a numeric shell', { file: yaml('b.yaml', 'recorder:\n  shell: 7\n') }],
      ['an empty file path', { flags: { 'file.path': '' } }],
      ['asciicast version 1', { flags: { 'file.version': 1 } }],
      ['a file version the schema does not know', { env: { VIGIL_RECORDER_FILE_VERSION: '4' } }],
      ['a batch below the minimum', { env: { VIGIL_RECORDER_BATCH_MAX_BYTES: '10' } }],
      ['a fractional delay', { env: { VIGIL_RECORDER_BATCH_MAX_DELAY_MS: '1.5' } }],
      ['a file that is not YAML', { file: yaml('bad.yaml', 'recorder: [\n') }],
      ['a missing file', { file: join(dir, 'missing.yaml') }],
      ['a section that is a list', { file: yaml('list.yaml', 'recorder: [1]\n') }],
    ])('leave %s to the full validation (which rejects it)', async (_name, options) => {
      expect(await quickSpawnSettings(options)).toBeUndefined();
      expect(() => loadRecorderConfig(options)).toThrow();
    });
  });
});
