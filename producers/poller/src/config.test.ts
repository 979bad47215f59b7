import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPollerConfig, pollerConfigTable, redactPollerConfig } from './config.js';

const flags = (sources: unknown[]) => ({ sources });

describe('poller config', () => {
  it('reports every problem with its key', () => {
    let message = '';
    try {
      loadPollerConfig({
        env: {},
        flags: {
          concurrency: 0,
          ...flags([
            { name: 'a', adapter: { type: 'livestatus', address: 'localhost:6557' } },
            {
              name: 'a',
              adapter: { type: 'checkmk-rest', url: 'ftp://x' },
              tls: { cert: '/c.pem' },
              hosts: ['/(/'],
            },
            { name: 'b', adapter: { type: 'gopher' }, auth: { type: 'basic', username: 'u' } },
          ]),
        },
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/poller\.concurrency:/);
    expect(message).toMatch(/poller\.sources\.0\.adapter\.address: expected "tcp:<host>:<port>"/);
    expect(message).toMatch(/poller\.sources\.1\.adapter\.url:/);
    expect(message).toMatch(/poller\.sources\.1\.tls: cert and key go together/);
    expect(message).toMatch(/poller\.sources\.1\.hosts\.0: not a valid regular expression/);
    expect(message).toMatch(/poller\.sources\.2\.adapter/);
    expect(message).toMatch(/poller\.sources\.2\.auth\.password/);
  });

  it('rejects duplicate source names', () => {
    const source = {
      name: 'a',
      adapter: { type: 'nagios-status', path: '/var/lib/nagios4/status.dat' },
    };
    expect(() => loadPollerConfig({ env: {}, flags: flags([source, source]) })).toThrow(
      /poller\.sources\.1\.name: duplicate source name "a"/,
    );
  });

  it('defaults to verified TLS and redacts secrets', () => {
    const config = loadPollerConfig({
      env: {},
      flags: flags([
        {
          name: 'etf',
          adapter: { type: 'checkmk-view', url: 'https://etf/view.py' },
          auth: { type: 'checkmk-automation', username: 'auto', secret: 's3cret' },
          tls: { cert: '/grid.pem', key: '/grid.key', passphrase: 'pem-s3cret' },
        },
      ]),
    });
    expect(config.sources[0]!.tls.insecureSkipVerify).toBe(false);
    expect(JSON.stringify(redactPollerConfig(config))).not.toMatch(/s3cret/);
  });

  it('README config table matches the schema', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    // On failure: paste the output of pollerConfigTable() into the README's Config section.
    // Prettier pads the table's columns, so compare with runs of spaces and dashes collapsed.
    const normalize = (text: string): string => text.replace(/ +/g, ' ').replace(/-{3,}/g, '---');
    expect(normalize(readme)).toContain(normalize(pollerConfigTable()));
  });
});
