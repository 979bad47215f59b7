/* eslint-disable @typescript-eslint/no-explicit-any -- free-form JSON documents */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventCodec, type EventCodec } from '@vigil/pipeline/codec';
import { PermanentError, RetryableError } from '@vigil/pipeline/errors';
import { createLogger } from '@vigil/pipeline/log';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { describeSinkConformance } from '@vigil/pipeline/testing';
import { createRecordDecoder } from '@vigil/documents/decode';
import {
  framed,
  framedSampleEvents,
  processEvents,
  registerFamilies,
  sessionMessages,
} from '@vigil/documents/testing';
import { ensureStack } from '@vigil/stack/stack';
import { configSchema } from './config.js';
import { createSplunkSink, SplunkConfigurationError, type SplunkSink } from './sink.js';
import { startHecReceiver, type HecReceiver } from './testkit/hec-receiver.js';

/** The Splunk sink against the test HEC receiver (Splunk cannot run here); records framed with the real registry. */

let codec: EventCodec;
let registryUrl: string;
const logger = createLogger('splunk-test', { level: 'silent' });
const closers: Array<() => Promise<unknown>> = [];
const DAY = 1_790_000_000_000_000_000n;

beforeAll(async () => {
  registryUrl = (await ensureStack()).registryUrl;
  codec = createEventCodec(createSchemaRegistryClient({ url: registryUrl }));
  await registerFamilies(codec);
}, 600_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

async function receiver(
  options: Parameters<typeof startHecReceiver>[0] = {
    tokens: [{ token: 't0k3n', indexes: ['main', 'grid'] }],
  },
) {
  const r = await startHecReceiver(options);
  closers.push(() => r.close());
  return r;
}

function sink(url: string, overrides: Record<string, unknown> = {}): SplunkSink {
  const config = configSchema.parse({ token: 't0k3n', url, registryUrl, ...overrides });
  const s = createSplunkSink(config, { logger, decoder: createRecordDecoder(codec) });
  closers.push(() => s.close());
  return s;
}

const ids = (r: HecReceiver) =>
  r.events.map((e) => (e.envelope.fields as Record<string, string>).event_id!);
const signal = () => new AbortController().signal;

let conformanceReceiver: HecReceiver;
describeSinkConformance({
  name: 'splunk',
  createSink: async () => {
    conformanceReceiver = await receiver();
    return sink(conformanceReceiver.url);
  },
  createUnreachableSink: async () => sink('http://127.0.0.1:1'),
  events: async () => framedSampleEvents(codec),
  idOf: (event) => event.key!.toString(),
  storedIds: async () => ids(conformanceReceiver),
});

describe('splunk sink', () => {
  it('sends one envelope per event with sourcetype per family, index and indexed fields', async () => {
    const r = await receiver();
    const s = sink(r.url, { index: 'grid' });
    await s.healthcheck();
    const { sessionId, messages } = sessionMessages();
    await s.write(
      messages.map((m) => framed(codec, 'session', 'vigil.session.v1.SessionEvent', m)),
      signal(),
    );
    expect(r.events).toHaveLength(messages.length);
    const first = r.events[0]!;
    expect(first.index).toBe('grid');
    expect(first.envelope).toMatchObject({
      host: 'login01',
      source: 'vigil',
      sourcetype: 'vigil:session',
      time: 1790000000,
    });
    expect(first.envelope.fields).toMatchObject({
      family: 'session',
      session_id: sessionId,
      event_action: 'session-start',
      user_name: 'alice',
    });
    expect(
      r.events.find((e) => (e.envelope.event as any).event.action === 'command')!.envelope.event,
    ).toMatchObject({ process: { exit_code: 2 } });
  });

  it('splits a batch into requests under maxRequestBytes, all events in order', async () => {
    const r = await receiver();
    const s = sink(r.url, { maxRequestBytes: 4096 });
    const events = processEvents(codec, 100, DAY);
    await s.write(events, signal());
    expect(ids(r)).toEqual(events.map((e) => e.key!.toString()));
    expect(r.answers.get(0)).toBeGreaterThan(10);
  });

  it('retries a busy collector (503) without sending twice what was accepted', async () => {
    const r = await receiver();
    const s = sink(r.url, { maxRequestBytes: 4096 });
    const events = processEvents(codec, 60, DAY);
    r.busyNext(1, 2); // two requests accepted, then busy once
    const error = await s.write(events, signal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toMatch(/503 code 9 Server is busy/);
    const acceptedFirst = r.events.length;
    expect(acceptedFirst).toBeGreaterThan(0);
    expect(acceptedFirst).toBeLessThan(events.length);
    await s.write(events, signal()); // what the runtime does after its backoff
    expect(ids(r)).toEqual(events.map((e) => e.key!.toString()));
  });

  it('stops with a clear message on a bad or disabled token, at the healthcheck and on write', async () => {
    const r = await receiver({
      tokens: [{ token: 'other' }, { token: 'disabled', disabled: true }],
    });
    const bad = sink(r.url);
    await expect(bad.healthcheck()).rejects.toThrow(SplunkConfigurationError);
    await expect(bad.healthcheck()).rejects.toThrow(/Invalid token.*check splunk.token/);
    await expect(bad.write(processEvents(codec, 2, DAY), signal())).rejects.toThrow(
      SplunkConfigurationError,
    );
    const disabled = sink(r.url, { token: 'disabled' });
    await expect(disabled.healthcheck()).rejects.toThrow(/Token disabled/);
    expect(r.events).toHaveLength(0);
  });

  it('dead-letters an event the collector refuses; the events before it are kept once, the rest are sent', async () => {
    const r = await receiver({ tokens: [{ token: 't0k3n', indexes: ['main'] }] });
    const s = sink(r.url, { index: 'grid' }); // this token may not write to grid: every event is refused
    const events = processEvents(codec, 3, DAY);
    await expect(s.write(events, signal())).rejects.toThrow(PermanentError);
    await expect(s.write(events, signal())).rejects.toThrow(/code 7 Incorrect index/);
    expect(r.events).toHaveLength(0);
    // A record that is not a Vigil event among good ones: the good ones go, the bad one is named.
    const ok = sink(r.url);
    const garbage = { ...events[0]!, value: Buffer.from([0, 0, 0, 0, 1, 2]), offset: '77' };
    await expect(ok.write([events[1]!, garbage, events[2]!], signal())).rejects.toThrow(
      /offset .*77/,
    );
    expect(ids(r)).toEqual([events[1]!.key!.toString(), events[2]!.key!.toString()]);
    // The runtime's one-by-one pass: nothing is sent twice.
    await ok.write([events[1]!], signal());
    await ok.write([events[2]!], signal());
    expect(r.events).toHaveLength(2);
  });

  it('with indexer acknowledgement, resolves only once every request is acknowledged', async () => {
    const r = await receiver({ tokens: [{ token: 't0k3n', ack: true }], ackDelayMs: 300 });
    const s = sink(r.url, { ack: { enabled: true, pollIntervalMs: 50 }, maxRequestBytes: 4096 });
    await s.healthcheck();
    const events = processEvents(codec, 30, DAY);
    const started = Date.now();
    await s.write(events, signal());
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(new Set(r.events.map((e) => e.channel))).toEqual(new Set([s.channel]));
    expect(ids(r)).toEqual(events.map((e) => e.key!.toString()));
  });

  it('times out unacknowledged requests as retryable', async () => {
    const r = await receiver({ tokens: [{ token: 't0k3n', ack: true }], ackDelayMs: 60_000 });
    const s = sink(r.url, { ack: { enabled: true, pollIntervalMs: 20, timeoutMs: 200 } });
    await expect(s.write(processEvents(codec, 2, DAY), signal())).rejects.toThrow(
      /not acknowledged within 200 ms/,
    );
  });

  it('refuses to run without acknowledgement against a token that requires a channel', async () => {
    const r = await receiver({ tokens: [{ token: 't0k3n', ack: true }] });
    await expect(sink(r.url).healthcheck()).rejects.toThrow(/Data channel is missing/);
  });

  it('verifies TLS: refuses an unknown certificate, accepts it with its CA file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-hec-tls-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const r = await receiver({
      tokens: [{ token: 't0k3n' }],
      tls: {
        key: readFileSync(join(dir, 'key.pem'), 'utf8'),
        cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      },
    });
    const untrusted = sink(r.url);
    await expect(untrusted.healthcheck()).rejects.toThrow(/self.signed certificate/);
    const trusted = sink(r.url, { tlsCaFile: join(dir, 'cert.pem') });
    await trusted.healthcheck();
    await trusted.write(processEvents(codec, 2, DAY), signal());
    expect(r.events).toHaveLength(2);
  });
});
