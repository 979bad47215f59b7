import { describe, expect, it } from 'vitest';
import { classifyAnswer, hecTime, toEnvelope } from './envelope.js';
import { configSchema } from './config.js';
import { newChannel, splitConcatenatedJson, startHecReceiver } from './testkit/hec-receiver.js';
import type { SinkEvent } from '@vigil/documents/decode';

describe('classifyAnswer', () => {
  it.each([
    [200, { text: 'Success', code: 0 }, 'ok'],
    [200, { text: 'Success', code: 0, ackId: 7 }, 'ok'],
    [403, { text: 'Token disabled', code: 1 }, 'auth'],
    [401, { text: 'Token is required', code: 2 }, 'auth'],
    [401, { text: 'Invalid authorization', code: 3 }, 'auth'],
    [403, { text: 'Invalid token', code: 4 }, 'auth'],
    [400, { text: 'No data', code: 5 }, 'reject'],
    [400, { text: 'Invalid data format', code: 6, 'invalid-event-number': 3 }, 'reject'],
    [400, { text: 'Incorrect index', code: 7 }, 'reject'],
    [500, { text: 'Internal server error', code: 8 }, 'retry'],
    [503, { text: 'Server is busy', code: 9 }, 'retry'],
    [400, { text: 'Data channel is missing', code: 10 }, 'config'],
    [400, { text: 'Invalid data channel', code: 11 }, 'config'],
    [400, { text: 'Event field is required', code: 12 }, 'reject'],
    [400, { text: 'Event field cannot be blank', code: 13 }, 'reject'],
    [400, { text: 'ACK is disabled', code: 14 }, 'config'],
    [400, { text: 'Error in handling indexed fields', code: 15 }, 'reject'],
    [503, { text: 'HEC is unhealthy, queues are full', code: 18 }, 'retry'],
    [502, undefined, 'retry'],
    [429, undefined, 'retry'],
    [404, undefined, 'reject'],
  ])('HTTP %i %j → %s', (status, body, kind) => {
    expect(classifyAnswer(status, body).kind).toBe(kind);
  });
  it('keeps the number of the invalid event', () => {
    expect(classifyAnswer(400, { code: 6, 'invalid-event-number': 3 })).toMatchObject({
      invalidEvent: 3,
    });
  });
});

describe('toEnvelope', () => {
  const doc = {
    host: { name: 'ce01' },
    event: { action: 'state-change' },
    vigil: { status: { state: 'critical' } },
  };
  const record: SinkEvent = {
    family: 'status',
    eventId: '0190f000-0000-7000-8000-000000000001',
    timeUnixNano: 1_790_000_000_123_456_789n,
    host: 'poller01',
    document: doc,
  };
  it('gives time in seconds (ms precision), the monitored host, sourcetype per family, flat indexed fields', () => {
    const envelope = toEnvelope(record, {
      source: 'vigil',
      sourcetypePrefix: 'vigil:',
      index: 'grid',
    });
    expect(envelope).toEqual({
      time: 1790000000.123,
      host: 'ce01',
      source: 'vigil',
      sourcetype: 'vigil:status',
      index: 'grid',
      event: doc,
      fields: {
        event_id: record.eventId,
        family: 'status',
        event_action: 'state-change',
        service_state: 'critical',
      },
    });
    expect(JSON.stringify(envelope)).toContain('"time":1790000000.123');
  });
  it('rounds time down to the millisecond', () => {
    expect(hecTime(999_999n)).toBe(0);
    expect(hecTime(1_000_000n)).toBe(0.001);
  });
});

describe('configSchema', () => {
  it('requires a token, names it, and verifies TLS by default', () => {
    expect(() => configSchema.parse({})).toThrow(/token/);
    const config = configSchema.parse({ token: 'x' });
    expect(config.url).toMatch(/^https:/);
    expect(config.ack.enabled).toBe(false);
  });
});

describe('the test HEC receiver follows the protocol', () => {
  it('splits concatenated JSON objects, braces inside strings included', () => {
    expect(splitConcatenatedJson('{"a":"}{"}{"b":[1,{}]}\n {"c":"\\"}"}')).toEqual({
      texts: ['{"a":"}{"}', '{"b":[1,{}]}', '{"c":"\\"}"}'],
      malformed: false,
    });
    expect(splitConcatenatedJson('{"a":1}{"b":')).toEqual({ texts: ['{"a":1}'], malformed: true });
    expect(splitConcatenatedJson('[{"a":1}]')).toEqual({ texts: [], malformed: true });
  });

  it('answers tokens, envelopes, batches, channels and acks as documented', async () => {
    const receiver = await startHecReceiver({
      tokens: [
        { token: 'good', indexes: ['main', 'grid'] },
        { token: 'acked', ack: true },
        { token: 'off', disabled: true },
      ],
    });
    const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${receiver.url}${path}`, { method: 'POST', body, headers });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const auth = (token: string) => ({ authorization: `Splunk ${token}` });
    try {
      expect(await post('/services/collector/event', '{"event":1}')).toEqual({
        status: 401,
        body: { text: 'Token is required', code: 2 },
      });
      expect(
        (await post('/services/collector/event', '{"event":1}', { authorization: 'Bearer good' }))
          .body.code,
      ).toBe(3);
      expect((await post('/services/collector/event', '{"event":1}', auth('nope'))).body).toEqual({
        text: 'Invalid token',
        code: 4,
      });
      expect((await post('/services/collector/event', '{"event":1}', auth('off'))).body.code).toBe(
        1,
      );
      expect((await post('/services/collector/event', '', auth('good'))).body).toEqual({
        text: 'No data',
        code: 5,
      });
      expect(
        await post(
          '/services/collector/event',
          '{"event":"a"}{"event":{"b":1},"index":"grid","fields":{"k":"v","l":["x","y"]}}',
          auth('good'),
        ),
      ).toEqual({ status: 200, body: { text: 'Success', code: 0 } });
      expect(receiver.events.map((e) => e.index)).toEqual(['main', 'grid']);
      // Bad events: the ones before are kept, the answer names the invalid one.
      expect(
        (await post('/services/collector/event', '{"event":"ok"}{"fields":{}}', auth('good'))).body,
      ).toEqual({ text: 'Event field is required', code: 12, 'invalid-event-number': 1 });
      expect(receiver.events).toHaveLength(3);
      expect(
        (await post('/services/collector/event', '{"event":""}', auth('good'))).body.code,
      ).toBe(13);
      expect(
        (await post('/services/collector/event', '{"event":"x","index":"secret"}', auth('good')))
          .body.code,
      ).toBe(7);
      expect(
        (
          await post(
            '/services/collector/event',
            '{"event":"x","fields":{"n":{"deep":1}}}',
            auth('good'),
          )
        ).body.code,
      ).toBe(15);
      expect(
        (await post('/services/collector/event', '{"event":"x","time":"yesterday"}', auth('good')))
          .body.code,
      ).toBe(6);
      expect(
        (await post('/services/collector/event', '[{"event":"x"}]', auth('good'))).body,
      ).toMatchObject({ code: 6, 'invalid-event-number': 0 });
      // Channels and acks.
      expect(
        (await post('/services/collector/event', '{"event":"x"}', auth('acked'))).body.code,
      ).toBe(10);
      expect(
        (
          await post('/services/collector/event', '{"event":"x"}', {
            ...auth('acked'),
            'x-splunk-request-channel': 'not-a-guid',
          })
        ).body.code,
      ).toBe(11);
      const channel = { ...auth('acked'), 'x-splunk-request-channel': newChannel() };
      expect((await post('/services/collector/event', '{"event":"x"}', channel)).body).toEqual({
        text: 'Success',
        code: 0,
        ackId: 0,
      });
      expect((await post('/services/collector/event', '{"event":"y"}', channel)).body.ackId).toBe(
        1,
      );
      expect((await post('/services/collector/ack', '{"acks":[0,1,5]}', channel)).body).toEqual({
        acks: { '0': true, '1': true, '5': false },
      });
      expect((await post('/services/collector/ack', '{"acks":[0]}', channel)).body).toEqual({
        acks: { '0': false },
      }); // reported once
      expect((await post('/services/collector/ack', '{"acks":[0]}', auth('good'))).body.code).toBe(
        14,
      );
      // Injected busy answers.
      receiver.busyNext(1);
      expect(await post('/services/collector/event', '{"event":"x"}', auth('good'))).toEqual({
        status: 503,
        body: { text: 'Server is busy', code: 9 },
      });
      expect(
        (await post('/services/collector/event', '{"event":"x"}', auth('good'))).body.code,
      ).toBe(0);
      receiver.busyFor(60_000);
      expect((await fetch(`${receiver.url}/services/collector/health`)).status).toBe(503);
    } finally {
      await receiver.close();
    }
  });
});
