import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaConfigOfSigner, loadSignerConfig, signerConfigTable } from './config.js';
import { signingKeyOf } from './run.js';

describe('signer config', () => {
  it('defaults: local stack, the watermark topic, no key', () => {
    const config = loadSignerConfig({ env: {} });
    expect(config.topic).toBe('vigil.watermark.v1');
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.keyId).toBeUndefined();
    expect(kafkaConfigOfSigner(config)).toEqual({
      brokers: ['127.0.0.1:9092'],
      clientId: 'vigil-signer',
    });
  });

  it('flags win over the environment; keyId and keyFile go together', () => {
    const config = loadSignerConfig({
      env: { VIGIL_SIGNER_TOPIC: 'from-env', VIGIL_SIGNER_KEY_ID: 'k', VIGIL_SIGNER_KEY_FILE: 'f' },
      flags: { topic: 'from-flag' },
    });
    expect(config.topic).toBe('from-flag');
    expect(() => loadSignerConfig({ env: { VIGIL_SIGNER_KEY_ID: 'k' } })).toThrow(
      /keyId and keyFile go together/,
    );
    expect(() => loadSignerConfig({ env: { VIGIL_SIGNER_NOPE: '1' } })).toThrow(
      /VIGIL_SIGNER_NOPE: not a signer setting/,
    );
  });

  it('no key is refused unless allowUnsigned; a key file is hex, blanks ignored', async () => {
    await expect(signingKeyOf(loadSignerConfig({ env: {} }))).rejects.toThrow(/no signing key/);
    expect(await signingKeyOf(loadSignerConfig({ env: {}, flags: { allowUnsigned: true } }))).toBe(
      undefined,
    );
    const dir = mkdtempSync(join(tmpdir(), 'vigil-signer-config-'));
    writeFileSync(join(dir, 'good.key'), '00112233\n44556677 8899\n');
    writeFileSync(join(dir, 'bad.key'), 'not hex');
    const key = await signingKeyOf(
      loadSignerConfig({ env: {}, flags: { keyId: 'site', keyFile: join(dir, 'good.key') } }),
    );
    expect(key).toEqual({ keyId: 'site', key: Buffer.from('00112233445566778899', 'hex') });
    await expect(
      signingKeyOf(
        loadSignerConfig({ env: {}, flags: { keyId: 's', keyFile: join(dir, 'bad.key') } }),
      ),
    ).rejects.toThrow(/signer\.keyFile: .*bad\.key: reading key: expected an even number/);
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
    // On failure: paste the output of signerConfigTable() into the README's Config section.
    for (const row of cells(signerConfigTable())) expect(readme).toContain(row);
  });
});
