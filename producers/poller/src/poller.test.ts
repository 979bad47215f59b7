import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Adapter } from './adapters/adapter.js';
import { SourceError } from './adapters/source-error.js';
import { pollerSchema, type PollerConfig } from './config.js';
import { createPoller } from './poller.js';
import type { OutRecord, StatusBody, StatusPublisher } from './publish.js';
import { ServiceState as S, StateType as T, type ServiceStatus } from './status.js';
import { createTelemetry } from './telemetry.js';
import type { KnownState } from './track.js';

/**
 * The scheduling and bookkeeping of the poller, with scripted adapters and a publisher that keeps
 * the records it is given (the Kafka side is covered by poller.int.test.ts).
 */

const svc = (host: string, service: string, state: S): ServiceStatus => ({
  host,
  service,
  state,
  stateType: T.STATE_TYPE_HARD,
  output: '',
  acknowledged: false,
  inDowntime: false,
  flapping: false,
  lastCheckMs: 0,
  lastStateChangeMs: 0,
});

function recorder(fail = { count: 0 }) {
  const sent: Array<{ topic: string; key: string; body: StatusBody | null }> = [];
  const bodies = new Map<Buffer, StatusBody>();
  const publisher: StatusPublisher = {
    encode(body) {
      const value = Buffer.from(JSON.stringify(Object.keys(body)));
      bodies.set(value, body);
      return value;
    },
    async send(records: readonly OutRecord[]) {
      if (fail.count > 0) {
        fail.count--;
        throw new Error('broker down');
      }
      for (const r of records)
        sent.push({ topic: r.topic, key: r.key, body: r.value ? bodies.get(r.value)! : null });
    },
  };
  return { sent, publisher };
}

const config = (
  sources: Array<{ name: string; hosts?: string[] }>,
  extra: Partial<PollerConfig> = {},
): PollerConfig =>
  pollerSchema.parse({
    jitterMs: 0,
    ...extra,
    sources: sources.map((s) => ({ adapter: { type: 'nagios-status', path: '/x' }, ...s })),
  });

const telemetry = () => createTelemetry({ log: pino({ level: 'silent' }) });

describe('createPoller', () => {
  it('baselines, then reports a change with its previous state, keyed site/host/service', async () => {
    const script = [
      [svc('h1', 'a', S.SERVICE_STATE_OK)],
      [svc('h1', 'a', S.SERVICE_STATE_CRITICAL)],
    ];
    const adapter: Adapter = { type: 'nagios-status', poll: async () => script.shift()! };
    const { sent, publisher } = recorder();
    const known = new Map<string, KnownState>();
    const poller = createPoller(config([{ name: 'src' }]), {
      publisher,
      telemetry: telemetry(),
      known,
      hostname: 'p',
      createAdapter: () => adapter,
    });
    expect(await poller.pollNow('src')).toMatchObject({ ok: true, services: 1, changes: 0 });
    expect(await poller.pollNow('src')).toMatchObject({ ok: true, services: 1, changes: 1 });
    const change = sent.find((r) => r.body && 'stateChange' in r.body)!;
    expect(change.key).toBe('src/h1/a');
    expect(change.body).toMatchObject({
      stateChange: { previousState: S.SERVICE_STATE_OK, state: S.SERVICE_STATE_CRITICAL },
    });
    expect(sent.filter((r) => r.topic === 'vigil.status-state.v1').map((r) => r.key)).toEqual([
      'src/h1/a',
      'src/h1/a',
    ]);
    expect(known.get('src/h1/a')?.state).toBe(S.SERVICE_STATE_CRITICAL);
  });

  it('reports an outage once and its end once, and keeps state when Kafka refuses', async () => {
    const results: Array<ServiceStatus[] | Error> = [
      new SourceError('unreachable', 'src: ECONNREFUSED'),
      new SourceError('unreachable', 'src: ECONNREFUSED'),
      [svc('h', 'a', S.SERVICE_STATE_OK)],
      [svc('h', 'a', S.SERVICE_STATE_WARNING)],
      [svc('h', 'a', S.SERVICE_STATE_WARNING)],
    ];
    const adapter: Adapter = {
      type: 'livestatus',
      poll: async () => {
        const next = results.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
    };
    const fail = { count: 0 };
    const { sent, publisher } = recorder(fail);
    const poller = createPoller(config([{ name: 'src' }]), {
      publisher,
      telemetry: telemetry(),
      known: new Map(),
      hostname: 'p',
      createAdapter: () => adapter,
    });
    await poller.pollNow('src');
    await poller.pollNow('src');
    await poller.pollNow('src');
    fail.count = 1; // the change is found but not sent ...
    expect(await poller.pollNow('src')).toMatchObject({ ok: false });
    expect(await poller.pollNow('src')).toMatchObject({ ok: true, changes: 1 }); // ... so the next poll finds it again
    const kinds = sent
      .filter((r) => r.topic === 'vigil.status.v1')
      .map((r) => Object.keys(r.body!)[0]);
    expect(kinds).toEqual([
      'sourceUnreachable',
      'sourceRecovered',
      'snapshot',
      'snapshot',
      'stateChange',
    ]);
    expect(
      sent.filter((r) => r.key === 'source:src').map((r) => (r.body ? 'open' : 'tombstone')),
    ).toEqual(['open', 'tombstone']);
  });

  it('does not report again an outage read from the state topic', async () => {
    const adapter: Adapter = {
      type: 'livestatus',
      poll: async () => Promise.reject(new SourceError('timeout', 'slow')),
    };
    const { sent, publisher } = recorder();
    const poller = createPoller(config([{ name: 'src' }]), {
      publisher,
      telemetry: telemetry(),
      known: new Map(),
      outages: new Map([['src', 1000]]),
      hostname: 'p',
      createAdapter: () => adapter,
    });
    await poller.pollNow('src');
    expect(sent).toEqual([]);
  });

  it('never runs more polls at once than the concurrency limit, and a slow source does not block a fast one', async () => {
    let running = 0;
    let peak = 0;
    const polls: string[] = [];
    const make = (name: string, ms: number): Adapter => ({
      type: 'nagios-status',
      poll: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, ms));
        running--;
        polls.push(name);
        return [];
      },
    });
    const { publisher } = recorder();
    const poller = createPoller(
      config([{ name: 'slow' }, { name: 'f1' }, { name: 'f2' }, { name: 'f3' }], {
        concurrency: 2,
      }),
      {
        publisher,
        telemetry: telemetry(),
        known: new Map(),
        hostname: 'p',
        createAdapter: (s) => make(s.name, s.name === 'slow' ? 300 : 10),
      },
    );
    await Promise.all(['slow', 'f1', 'f2', 'f3'].map((s) => poller.pollNow(s)));
    expect(peak).toBe(2);
    expect(polls.at(-1)).toBe('slow'); // the fast ones finished while the slow one held one slot
  });

  it('applies new host lists in place and drops removed sources', async () => {
    const adapter: Adapter = {
      type: 'nagios-status',
      poll: async () => [svc('h1', 'a', S.SERVICE_STATE_OK), svc('h2', 'a', S.SERVICE_STATE_OK)],
    };
    const { sent, publisher } = recorder();
    let created = 0;
    const poller = createPoller(config([{ name: 'src' }, { name: 'other' }]), {
      publisher,
      telemetry: telemetry(),
      known: new Map(),
      hostname: 'p',
      createAdapter: () => (created++, adapter),
    });
    poller.apply(config([{ name: 'src', hosts: ['h2'] }]));
    expect(created).toBe(2); // the same adapter: only the host list changed
    await poller.pollNow('src');
    expect(sent.filter((r) => r.topic === 'vigil.status.v1').map((r) => r.key)).toEqual([
      'src/h2/a',
    ]);
    await expect(poller.pollNow('other')).rejects.toThrow(/no source named other/);
  });
});
