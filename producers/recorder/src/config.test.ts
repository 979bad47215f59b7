import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadRecorderConfig, parseGatewayAddress, recorderConfigTable } from './config.js';

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
});
