import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Consumer } from 'kafkajs';
import { createEventCodec } from '@vigil/pipeline/codec';
import { createKafka } from '@vigil/pipeline/kafka';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { uniqueName } from '@vigil/pipeline/testing';
import { toBigInt } from '@vigil/pipeline/events';
import { ensureStack, type StackEndpoints } from '@vigil/stack/stack';
import type { vigil } from '@vigil/schemas/gen';
import { runPoller, type RunningPoller } from './run.js';
import { parseNagiosStatusDat } from './adapters/nagios.js';
import { ServiceState, stateName } from './status.js';
import {
  freePort,
  startIcinga2,
  startNagios4,
  type Icinga2Instance,
  type Nagios4Instance,
} from './testing/instances.js';

/**
 * The poller against a real Icinga 2 (REST API + event stream, and its Livestatus) and a real
 * Nagios 4 (status.dat, and statusjson.cgi), with the real Kafka and registry: driving a service
 * OK → CRITICAL → OK gives exactly two state changes per source, a restart gives none, a dead
 * source is reported once, and a slow source does not hold up the others.
 */

interface Received {
  readonly key: string;
  readonly producerId: string;
  readonly event: vigil.status.v1.IStatusEvent;
}

const SERVICE = 'org.sam.ARC-JobSubmit';
const HOST = 'ce01.example-grid.ro';

let endpoints: StackEndpoints;
let icinga: Icinga2Instance;
let nagios: Nagios4Instance;
let dir: string;
let configFile: string;
let consumer: Consumer;
let hanging: Server;
let loginPage: Server;
const received: Received[] = [];
const prefix = `${uniqueName('poller')}.`;
const topic = `${prefix}vigil.status.v1`;
const stateTopic = `${prefix}vigil.status-state.v1`;

async function until<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const changesOf = (site: string) =>
  received
    .filter((r) => r.event.stateChange?.service?.site === site)
    .map(
      (r) =>
        `${r.event.stateChange!.service!.host}/${r.event.stateChange!.service!.service}: ${stateName(r.event.stateChange!.previousState!)} -> ${stateName(r.event.stateChange!.state!)}`,
    );

const snapshotsOf = (site: string, producerId?: string) =>
  received.filter(
    (r) =>
      r.event.snapshot?.service?.site === site &&
      r.event.snapshot.service.host === HOST &&
      r.event.snapshot.service.service === SERVICE &&
      (!producerId || r.producerId === producerId),
  );

const latestState = (site: string) => {
  const snaps = snapshotsOf(site);
  const last = snaps.at(-1)?.event.snapshot;
  return last ? stateName(last.state!) : undefined;
};

type AnyConfig = {
  poller: { sources: Array<{ hosts?: string[] } & Record<string, unknown>> } & Record<
    string,
    unknown
  >;
};
let currentConfig: AnyConfig;
function writeConfig(change: (config: AnyConfig) => void, initial?: AnyConfig): void {
  if (initial) currentConfig = initial;
  change(currentConfig);
  writeFileSync(configFile, stringify(currentConfig));
}

const SITES = ['ic-rest', 'ic-livestatus', 'ng-status', 'ng-json'];

beforeAll(async () => {
  endpoints = await ensureStack();
  [icinga, nagios] = await Promise.all([startIcinga2(), startNagios4()]);
  // Baseline: the driven service is OK everywhere before the poller starts.
  await icinga.setState(HOST, SERVICE, 0, 'OK - baseline');
  await nagios.setState(HOST, SERVICE, 0, 'OK - baseline');
  // Nagios writes status.dat every second: wait until the baseline is in it, so the first poll sees OK.
  await until('the baseline in status.dat', () =>
    parseNagiosStatusDat(readFileSync(nagios.statusFile, 'utf8'), 'status.dat').some(
      (s) => s.host === HOST && s.service === SERVICE && s.state === ServiceState.SERVICE_STATE_OK,
    ),
  );

  // A source that accepts connections and never answers, and one that answers with a login page.
  hanging = createServer(() => undefined);
  loginPage = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!DOCTYPE html><html><body><form action="login.py"></form></body></html>');
  });
  await Promise.all(
    [hanging, loginPage].map(
      (s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve)),
    ),
  );
  const deadPort = await freePort();

  dir = mkdtempSync(join(tmpdir(), 'vigil-poller-int-'));
  configFile = join(dir, 'vigil.yaml');
  const watch = { hosts: ['ce01.*', 'se01.example-grid.ro'], services: ['org.sam.*'] };
  writeConfig(() => undefined, {
    poller: {
      instance: 'int-test',
      kafka: { brokers: endpoints.kafkaBrokers },
      registry: { url: endpoints.registryUrl },
      topic,
      stateTopic,
      intervalMs: 1000,
      timeoutMs: 5000,
      jitterMs: 200,
      concurrency: 4,
      sources: [
        {
          name: 'icinga-rest',
          site: 'ic-rest',
          adapter: { type: 'icinga2', url: icinga.apiUrl, eventStream: true },
          auth: { type: 'basic', username: 'poller', password: 'pollerpw' },
          tls: { ca: icinga.caFile },
          ...watch,
        },
        {
          name: 'icinga-livestatus',
          site: 'ic-livestatus',
          adapter: { type: 'livestatus', address: icinga.livestatus },
          ...watch,
        },
        {
          name: 'nagios-status',
          site: 'ng-status',
          adapter: { type: 'nagios-status', path: nagios.statusFile },
          ...watch,
        },
        {
          name: 'nagios-json',
          site: 'ng-json',
          adapter: { type: 'nagios-json', url: nagios.statusJsonUrl },
          ...watch,
        },
        {
          name: 'hanging',
          adapter: {
            type: 'icinga2',
            url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`,
            eventStream: false,
          },
          timeoutMs: 3000,
        },
        {
          name: 'login-page',
          adapter: {
            type: 'checkmk-view',
            url: `http://127.0.0.1:${(loginPage.address() as AddressInfo).port}/view.py`,
          },
        },
        { name: 'dead', adapter: { type: 'livestatus', address: `tcp:127.0.0.1:${deadPort}` } },
      ],
    },
  });

  const codec = createEventCodec(createSchemaRegistryClient({ url: endpoints.registryUrl }));
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'poller-int-test' });
  consumer = kafka.consumer({ groupId: uniqueName('poller-int') });
  await consumer.connect();
  // The poller creates the topics; subscribe once they exist.
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = await codec.decode<vigil.status.v1.IStatusEvent>(message.value!);
      received.push({
        key: message.key!.toString(),
        producerId: decoded.message.envelope!.producerId!,
        event: decoded.message,
      });
    },
  });
}, 600_000);

afterAll(async () => {
  await consumer?.disconnect();
  hanging?.closeAllConnections();
  hanging?.close();
  loginPage?.close();
  await Promise.allSettled([icinga?.stop(), nagios?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const quiet = () => pino({ level: process.env.VIGIL_TEST_LOG ?? 'silent' });

describe('vigil poll against real Icinga 2 and Nagios 4', () => {
  let first: RunningPoller;

  it('reports OK -> CRITICAL -> OK as exactly two state changes per source', async () => {
    first = await runPoller({ file: configFile, log: quiet(), reloadCheckMs: 200 });
    for (const site of SITES)
      await until(`baseline snapshot OK from ${site}`, () => latestState(site) === 'OK');
    expect(SITES.flatMap(changesOf)).toEqual([]); // the first poll is a baseline

    await icinga.setState(HOST, SERVICE, 2, 'CRITICAL - job submission failed');
    await nagios.setState(HOST, SERVICE, 2, 'CRITICAL - job submission failed');
    for (const site of SITES)
      await until(`CRITICAL from ${site}`, () => changesOf(site).length === 1);
    await icinga.setState(HOST, SERVICE, 0, 'OK - recovered');
    await nagios.setState(HOST, SERVICE, 0, 'OK - recovered');
    for (const site of SITES)
      await until(`OK again from ${site}`, () => changesOf(site).length === 2);

    for (const site of SITES) {
      expect(changesOf(site), site).toEqual([
        `${HOST}/${SERVICE}: OK -> CRITICAL`,
        `${HOST}/${SERVICE}: CRITICAL -> OK`,
      ]);
    }
    const change = received.find(
      (r) => r.event.stateChange?.service?.site === 'ic-rest' && r.event.stateChange.state === 3,
    )!;
    expect(change.key).toBe(`ic-rest/${HOST}/${SERVICE}`);
    expect(change.event.stateChange).toMatchObject({
      output: 'CRITICAL - job submission failed',
      stateType: 2,
    });
    expect(change.event.envelope).toMatchObject({
      sourceKind: 3,
      producerId: expect.stringMatching(/^poller\/int-test\//),
    });
    const recovery = received.find(
      (r) => r.event.stateChange?.service?.site === 'ng-status' && r.event.stateChange.state === 1,
    )!;
    expect(toBigInt(recovery.event.stateChange!.previousDurationNs as never)).toBeGreaterThan(0n);
  }, 120_000);

  it('reports a dead source and an HTML login page once each, and a hanging source does not hold up the others', async () => {
    const unreachable = (source: string) =>
      received.filter((r) => r.event.sourceUnreachable?.source === source);
    await until('dead, login-page and hanging reported', () =>
      ['dead', 'login-page', 'hanging'].every((s) => unreachable(s).length > 0),
    );
    expect(unreachable('dead')[0]!.event.sourceUnreachable).toMatchObject({
      adapter: 'livestatus',
      error: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(unreachable('login-page')[0]!.event.sourceUnreachable!.error).toMatch(
      /HTML page instead of data/,
    );
    expect(unreachable('hanging')[0]!.event.sourceUnreachable!.error).toMatch(/within 3000 ms/);
    // While the hanging source held its slot for 3 s, the good sources kept their 1 s rhythm.
    const before = snapshotsOf('ng-status').length;
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(snapshotsOf('ng-status').length - before).toBeGreaterThanOrEqual(2);
    for (const s of ['dead', 'login-page', 'hanging']) expect(unreachable(s), s).toHaveLength(1);
    expect(received.filter((r) => r.event.snapshot?.service?.source === 'dead')).toHaveLength(0);
  }, 60_000);

  it('applies a changed host list without a restart', async () => {
    const marker = received.length;
    writeConfig((config) => {
      for (const source of config.poller.sources) if (source.hosts) source.hosts = ['ce01.*'];
    });
    const ngSnapshots = () =>
      received.slice(marker).filter((r) => r.event.snapshot?.service?.site === 'ng-status');
    // Status.dat lists ce01's two services before se01's: four ce01 snapshots in a row mean two polls without se01.
    await until(
      'two polls without se01 after the reload',
      () =>
        ngSnapshots().slice(-4).length === 4 &&
        ngSnapshots()
          .slice(-4)
          .every((r) => r.event.snapshot!.service!.host === HOST),
    );
    expect(changesOf('ng-status')).toHaveLength(2); // a host leaving the list is not a state change
  }, 30_000);

  it('announces nothing after a restart', async () => {
    const changesBefore = received.filter((r) => r.event.stateChange).length;
    await first.close();
    const second = await runPoller({ file: configFile, log: quiet() });
    try {
      const producers = new Set(received.map((r) => r.producerId));
      // Two polls of every good source by the new process.
      for (const site of SITES) {
        await until(`two polls of ${site} after the restart`, () => {
          const fresh = snapshotsOf(site).filter((r) => !producers.has(r.producerId));
          return fresh.length >= 2;
        });
      }
      expect(received.filter((r) => r.event.stateChange).length).toBe(changesBefore);
      // Outages open before the restart are not reported again.
      for (const s of ['dead', 'login-page'])
        expect(
          received.filter((r) => r.event.sourceUnreachable?.source === s),
          s,
        ).toHaveLength(1);
    } finally {
      await second.close();
    }
  }, 120_000);
});
