import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka, ensureTopics, familyTopics } from '@vigil/pipeline/kafka';
import { uniqueName } from '@vigil/pipeline/testing';
import { FAMILIES, familyByName } from '@vigil/schemas/families';
import { newEventId } from '@vigil/pipeline/events';
import Long from 'long';
import { vigil } from '@vigil/schemas/gen';
import { ensureStack, type StackEndpoints } from '@vigil/stack/stack';
import { DgramSocket } from 'node-unix-socket';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigSchema, type GatewayConfig } from './config.js';
import { encodeTransport } from './decode.js';
import { createGateway } from './gateway.js';
import {
  connectStream,
  freePort,
  lengthPrefixed,
  metricValue,
  processDatagram,
  readTopics,
  until,
} from './testkit.js';

let stack: StackEndpoints;
const quiet = pino({ level: 'silent' });

beforeAll(async () => {
  stack = await ensureStack();
}, 600_000);

function gatewayConfig(prefix: string, over: Record<string, unknown> = {}): GatewayConfig {
  return gatewayConfigSchema.parse({
    id: 'gw-test',
    kafka: { brokers: stack.kafkaBrokers, topicPrefix: prefix },
    registry: { url: stack.registryUrl },
    spool: { dir: mkdtempSync(join(tmpdir(), 'vigil-gw-spool-')), fsync: 'never' },
    http: { port: 0 },
    batch: { lingerMs: 2 },
    ...over,
  });
}

async function topicsFor(prefix: string, brokers = stack.kafkaBrokers) {
  const kafka = createKafka({ brokers, clientId: 'gateway-test' });
  await ensureTopics(kafka, familyTopics(FAMILIES, { prefix, numPartitions: 2 }));
  return kafka;
}

describe('gateway against the real Kafka', () => {
  it('carries every protocol into Kafka unchanged, and counts bad input while the streams go on', async () => {
    const prefix = `${uniqueName('gw')}.`;
    const kafka = await topicsFor(prefix);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-gw-sock-'));
    const gateway = createGateway(
      gatewayConfig(prefix, {
        listen: [
          'udp:127.0.0.1:0',
          'udp:[::1]:0',
          `unixgram:${dir}/g.dgram`,
          'tcp:127.0.0.1:0',
          `unix:${dir}/g.sock`,
        ],
        maxDatagramBytes: 4000,
        maxFrameBytes: 4000,
        idleTimeoutMs: 300,
      }),
      { logger: quiet },
    );
    await gateway.start();
    const [udp4, udp6, , tcp, unix] = gateway.addresses;
    const reader = await readTopics(
      kafka,
      FAMILIES.map((f) => `${prefix}${f.topic}`),
      uniqueName('gw-read'),
    );
    const sent = new Map<string, Buffer>();
    const next = () => {
      const d = processDatagram(sent.size + 1);
      sent.set(d.eventId, d.bytes);
      return d.bytes;
    };
    try {
      // Datagrams: UDP over IPv4 and IPv6, and the unix datagram socket.
      for (const [address, type] of [
        [udp4!, 'udp4'],
        [udp6!, 'udp6'],
      ] as const) {
        const socket = createSocket(type);
        const m = /^udp:\[?([^\]]+)\]?:(\d+)$/.exec(address)!;
        const send = (b: Buffer) =>
          new Promise<void>((resolve) => socket.send(b, Number(m[2]), m[1], () => resolve()));
        await send(next());
        await send(randomBytes(300)); // random bytes
        await send(next().subarray(0, 40)); // truncated
        sent.delete([...sent.keys()].at(-1)!);
        await send(Buffer.concat([next(), Buffer.alloc(5000)])); // oversized
        sent.delete([...sent.keys()].at(-1)!);
        await send(next());
        socket.close();
      }
      const unixgram = new DgramSocket();
      await new Promise<void>((resolve, reject) => {
        const bytes = next();
        unixgram.sendTo(bytes, 0, bytes.length, `${dir}/g.dgram`, (error) =>
          error ? reject(error) : resolve(),
        );
      });
      unixgram.close();

      // Every family through TCP, with garbage frames in between: the stream goes on.
      const client = await connectStream(tcp!);
      for (const family of FAMILIES) {
        const sample = (await import('@vigil/pipeline/testing'))
          .sampleEvents()
          .find((e) => e.family === family.name)!;
        const type = family.recordType
          .split('.')
          .reduce<Record<string, unknown>>((n, p) => n[p] as Record<string, unknown>, {
            vigil,
          }) as unknown as {
          encode(m: object): { finish(): Uint8Array };
        };
        const bytes = encodeTransport(family, type.encode(sample.message).finish());
        const envelope = (sample.message as { envelope: { eventId: Uint8Array } }).envelope;
        sent.set((await import('@vigil/pipeline/events')).formatUuid(envelope.eventId), bytes);
        client.write(lengthPrefixed(bytes));
        client.write(lengthPrefixed(Buffer.concat([Buffer.from('XX'), randomBytes(62)]))); // not a transport message
      }
      // A frame over the limit: its bytes are skipped (the 1 MiB it claims never come), then the client leaves.
      client.write(Buffer.from([0, 0x10, 0, 0, ...randomBytes(50)]));
      client.end();
      const unixClient = await connectStream(`unix:${unix!.slice(5)}`);
      unixClient.write(lengthPrefixed(next()));
      unixClient.end();
      // A client that never sends, and one that sends half a frame and goes silent.
      const idle = await connectStream(tcp!);
      const half = await connectStream(tcp!);
      half.write(lengthPrefixed(next()).subarray(0, 30));
      sent.delete([...sent.keys()].at(-1)!);
      const unaffected = await connectStream(tcp!);
      unaffected.write(lengthPrefixed(next()));

      await until(
        () => [...sent.keys()].every((id) => reader.ids.has(id)),
        30_000,
        'every good event in kafka',
      ).catch(async (error: unknown) => {
        const missing = [...sent.keys()].filter((id) => !reader.ids.has(id));
        throw new Error(
          `${(error as Error).message}: ${missing.length} of ${sent.size} missing\n${await gateway.metrics.metrics()}`,
        );
      });
      for (const record of reader.records.filter((r) => sent.has(r.eventId))) {
        // The value is the producer's bytes, unchanged, behind the Confluent header.
        expect(Buffer.from(record.payload).equals(sent.get(record.eventId)!.subarray(4))).toBe(
          true,
        );
        expect(record.headers.gateway_id).toBe('gw-test');
        expect(record.headers.received_at).toMatch(/^\d{19}$/);
        expect(record.headers.peer).toMatch(/^(udp|tcp|unix|unixgram)/);
      }
      expect(new Set(reader.records.map((r) => r.headers.peer!.split(':')[0]))).toEqual(
        new Set(['udp', 'unixgram', 'tcp', 'unix']),
      );
      expect(reader.records.some((r) => r.headers.peer!.startsWith('udp:[::1]'))).toBe(true);
      await until(
        async () =>
          metricValue(await gateway.metrics.metrics(), 'component_discarded_events_total', {
            reason: 'idle_client',
          }) >= 1,
        10_000,
        'the idle client',
      );
      await until(
        async () =>
          metricValue(await gateway.metrics.metrics(), 'component_discarded_events_total', {
            reason: 'truncated_frame',
          }) >= 1,
        10_000,
        'the half frame',
      );
      const text = await gateway.metrics.metrics();
      const dropped = (reason: string) =>
        metricValue(text, 'component_discarded_events_total', { reason });
      expect(dropped('too_large')).toBe(3); // two datagrams, one frame
      expect(dropped('bad_magic')).toBe(FAMILIES.length + dropped('bad_magic') - FAMILIES.length); // random datagrams rarely start with "VG"
      expect(dropped('bad_magic')).toBeGreaterThanOrEqual(FAMILIES.length + 1);
      expect(dropped('bad_record')).toBeGreaterThanOrEqual(2); // the truncated datagrams
      expect(dropped('truncated_frame')).toBe(1);
      expect(dropped('idle_client')).toBeGreaterThanOrEqual(1); // the silent client (and any quiet one after 300 ms)
      expect(metricValue(text, 'component_sent_events_total')).toBe(sent.size);
      const health = await fetch(`${gateway.httpUrl}/healthz`);
      expect(health.status).toBe(200);
      expect(await (await fetch(`${gateway.httpUrl}/metrics`)).text()).toContain(
        'gateway_delivery_latency_seconds_bucket',
      );
      idle.destroy();
      half.destroy();
      unaffected.destroy();
    } finally {
      await reader.stop();
      expect(await gateway.stop()).toBe(true);
    }
  }, 120_000);

  it.each(['udp', 'unixgram'] as const)(
    'stopped right after a burst of %s datagrams: the ones already in its socket buffer reach Kafka',
    async (protocol) => {
      const prefix = `${uniqueName('gw-stop')}.`;
      const kafka = await topicsFor(prefix);
      const dir = mkdtempSync(join(tmpdir(), 'vigil-gw-sock-'));
      const listen = protocol === 'udp' ? 'udp:127.0.0.1:0' : `unixgram:${dir}/g.dgram`;
      const gateway = createGateway(gatewayConfig(prefix, { listen: [listen] }), { logger: quiet });
      await gateway.start();
      const port = Number(gateway.addresses[0]!.split(':').at(-1));
      const udp = createSocket('udp4');
      const unixgram = new DgramSocket();
      const send = (bytes: Buffer) =>
        new Promise<void>((resolve, reject) => {
          const done = (error?: Error | null) => (error ? reject(error) : resolve());
          if (protocol === 'udp') udp.send(bytes, port, '127.0.0.1', done);
          else unixgram.sendTo(bytes, 0, bytes.length, `${dir}/g.dgram`, done);
        });
      // A local send returns once the datagram is in the gateway's receive queue: it was taken,
      // and stop() must read it rather than close over it. A burst, so that stop() finds most of
      // it still queued.
      const ids = new Set<string>();
      const sends: Promise<void>[] = [];
      for (let i = 1; i <= 200; i++) {
        const d = processDatagram(i);
        ids.add(d.eventId);
        sends.push(send(d.bytes));
      }
      await Promise.all(sends);
      udp.close();
      unixgram.close();
      expect(await gateway.stop()).toBe(true);
      const reader = await readTopics(kafka, [`${prefix}vigil.process.v1`], uniqueName('gw-read'));
      try {
        await until(() => reader.ids.size >= ids.size, 30_000, 'all 200 events in Kafka').catch(
          () => undefined, // the assertion below names the missing ones
        );
        expect([...ids].filter((id) => !reader.ids.has(id))).toEqual([]);
      } finally {
        await reader.stop();
      }
    },
    120_000,
  );

  it('drops the newest when the spool is full, says so in /healthz, then reports a session Dropped event', async () => {
    const prefix = `${uniqueName('gw-full')}.`; // no topics yet: every produce request fails
    const dir = mkdtempSync(join(tmpdir(), 'vigil-gw-full-'));
    const gateway = createGateway(
      gatewayConfig(prefix, {
        listen: [`unix:${dir}/g.sock`],
        spool: {
          dir: join(dir, 'spool'),
          maxBytes: 64 * 1024,
          segmentBytes: 64 * 1024,
          fsync: 'never',
        },
        retry: { initialMs: 100, maxMs: 500 },
      }),
      { logger: quiet },
    );
    await gateway.start();
    const sessionId = newEventId();
    const client = await connectStream(`unix:${dir}/g.sock`);
    for (let i = 0; i < 800; i++) {
      const message = vigil.session.v1.SessionEvent.create({
        envelope: {
          eventId: newEventId(),
          sourceKind: 2,
          host: 'login01',
          producerId: 'rec/1',
          sequence: Long.fromNumber(i + 1, true),
        },
        sessionId,
        output: { data: Buffer.alloc(64, 0x61) },
      });
      client.write(
        lengthPrefixed(
          encodeTransport(
            familyByName('session'),
            vigil.session.v1.SessionEvent.encode(message).finish(),
          ),
        ),
      );
    }
    const dropped = async () =>
      metricValue(await gateway.metrics.metrics(), 'component_discarded_events_total', {
        reason: 'spool_full',
      });
    await until(
      async () =>
        metricValue(await gateway.metrics.metrics(), 'component_received_events_total') === 800,
      30_000,
      '800 received',
    );
    const lost = await dropped();
    expect(lost).toBeGreaterThan(200);
    await until(
      async () =>
        metricValue(await gateway.metrics.metrics(), 'gateway_spooled_events_total') === 800 - lost,
      10_000,
      'the rest written to the spool',
    );
    expect((await fetch(`${gateway.httpUrl}/healthz`)).status).toBe(503);

    // Kafka takes events again (the topics now exist): the backlog goes out, then the report.
    const kafka = await topicsFor(prefix);
    const reader = await readTopics(
      kafka,
      [`${prefix}vigil.session.v1`],
      uniqueName('gw-full-read'),
    );
    try {
      const report = () =>
        reader.records
          .map((r) => vigil.session.v1.SessionEvent.decode(r.payload))
          .find(
            (e) =>
              e.dropped &&
              e.envelope?.sourceKind === vigil.envelope.v1.SourceKind.SOURCE_KIND_GATEWAY,
          );
      await until(() => report() !== undefined, 60_000, 'the Dropped report');
      const event = report()!;
      expect(Buffer.from(event.sessionId).equals(sessionId)).toBe(true);
      expect(Number(event.dropped!.events)).toBe(lost);
      expect(event.dropped!.reason).toBe('spool_full');
      await until(
        () => reader.ids.size === 800 - lost + 1,
        30_000,
        'every spooled event and the report',
      );
      expect((await fetch(`${gateway.httpUrl}/healthz`)).status).toBe(200);
    } finally {
      client.destroy();
      await reader.stop();
      await gateway.stop();
    }
  }, 180_000);

  it('SIGKILLed mid-stream with Kafka up, then restarted: everything it had spooled reaches Kafka', async () => {
    const prefix = `${uniqueName('gw')}.`;
    const kafka = await topicsFor(prefix);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-gw-midkill-'));
    const httpPort = String(await freePort());
    const env = {
      ...process.env,
      VIGIL_GATEWAY_LISTEN: `unix:${dir}/g.sock`,
      VIGIL_GATEWAY_KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      VIGIL_GATEWAY_KAFKA_TOPIC_PREFIX: prefix,
      VIGIL_GATEWAY_REGISTRY_URL: stack.registryUrl,
      VIGIL_GATEWAY_SPOOL_DIR: join(dir, 'spool'),
      VIGIL_GATEWAY_HTTP_PORT: httpPort,
      VIGIL_GATEWAY_LOG_LEVEL: 'error',
    };
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const run = () =>
      spawn(process.execPath, [main], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const metrics = async () =>
      (await fetch(`http://127.0.0.1:${httpPort}/metrics`)
        .then((r) => r.text())
        .catch(() => '')) || '';
    const first = run();
    await until(async () => (await metrics()) !== '', 30_000, 'the first gateway');
    const client = await connectStream(`unix:${dir}/g.sock`);
    client.on('error', () => undefined); // the gateway dies under it
    const ids: string[] = [];
    // One stream keeps its order, so "n written to the spool" means the first n sent.
    let spooledAtKill = 0;
    for (let i = 1; i <= 4000; i++) {
      const d = processDatagram(i, 'midkill');
      ids.push(d.eventId);
      client.write(lengthPrefixed(d.bytes));
      if (i % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      if (i === 2000) {
        await until(
          async () => metricValue(await metrics(), 'component_sent_events_total') > 0,
          30_000,
          'some sent',
        );
        spooledAtKill = metricValue(await metrics(), 'gateway_spooled_events_total');
        first.kill('SIGKILL');
        await new Promise((resolve) => first.once('exit', resolve));
        break;
      }
    }
    client.destroy();
    expect(spooledAtKill).toBeGreaterThan(0);
    const second = run();
    // The second gateway must be running (its handlers installed) before it is asked to stop.
    await until(async () => (await metrics()) !== '', 30_000, 'the second gateway');
    const reader = await readTopics(kafka, [`${prefix}vigil.process.v1`], uniqueName('gw-read'));
    try {
      await until(
        () => ids.slice(0, spooledAtKill).every((id) => reader.ids.has(id)),
        60_000,
        'the spooled events',
      );
    } finally {
      await reader.stop();
      second.kill('SIGTERM');
      await new Promise((resolve) => second.once('exit', resolve));
    }
    expect(second.exitCode).toBe(0);
  }, 180_000);

  it('replays its spool after a SIGKILL: events taken while Kafka was away reach Kafka after a restart', async () => {
    const prefix = `${uniqueName('gw')}.`;
    const kafka = await topicsFor(prefix);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-gw-kill-'));
    const spoolDir = join(dir, 'spool');
    const env = async (brokers: string) => ({
      ...process.env,
      VIGIL_GATEWAY_ID: 'gw-kill',
      VIGIL_GATEWAY_LISTEN: `unix:${dir}/g.sock`,
      VIGIL_GATEWAY_KAFKA_BROKERS: brokers,
      VIGIL_GATEWAY_KAFKA_TOPIC_PREFIX: prefix,
      VIGIL_GATEWAY_REGISTRY_URL: stack.registryUrl,
      VIGIL_GATEWAY_SPOOL_DIR: spoolDir,
      VIGIL_GATEWAY_HTTP_PORT: String(await freePort()),
      VIGIL_GATEWAY_LOG_LEVEL: 'warn',
    });
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const output: string[] = [];
    const run = (e: NodeJS.ProcessEnv): ChildProcess => {
      const child = spawn(process.execPath, [main], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      return child;
    };
    const metrics = async (port: string) =>
      (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

    // First life: Kafka unreachable (nothing listens on the broker port), so everything is spooled.
    const deadPort = await freePort();
    const env1 = await env(`127.0.0.1:${deadPort}`);
    const first = run(env1);
    const ids: string[] = [];
    try {
      await until(
        async () => (await metrics(env1.VIGIL_GATEWAY_HTTP_PORT).catch(() => '')) !== '',
        30_000,
        'the first gateway',
      );
      const client = await connectStream(`unix:${dir}/g.sock`);
      for (let i = 1; i <= 500; i++) {
        const d = processDatagram(i, 'kill');
        ids.push(d.eventId);
        client.write(lengthPrefixed(d.bytes));
      }
      await until(
        async () =>
          metricValue(
            await metrics(env1.VIGIL_GATEWAY_HTTP_PORT),
            'gateway_spooled_events_total',
          ) === 500,
        30_000,
        '500 spooled',
      );
      first.kill('SIGKILL');
      client.destroy();
    } finally {
      first.kill('SIGKILL');
    }
    // Second life: Kafka reachable; the spool replays.
    const env2 = await env(stack.kafkaBrokers.join(','));
    const second = run(env2);
    const reader = await readTopics(kafka, [`${prefix}vigil.process.v1`], uniqueName('gw-read'));
    try {
      await until(
        () => ids.every((id) => reader.ids.has(id)),
        120_000,
        'every spooled event in kafka',
      ).catch(async (error: unknown) => {
        const text = await metrics(env2.VIGIL_GATEWAY_HTTP_PORT).catch((e: Error) => e.message);
        throw new Error(
          `${(error as Error).message}: ${ids.filter((id) => !reader.ids.has(id)).length} missing; ` +
            `second gateway exit ${second.exitCode}; output:\n${output.join('').slice(-3000)}\nmetrics:\n${text}`,
        );
      });
      const text = await metrics(env2.VIGIL_GATEWAY_HTTP_PORT);
      expect(metricValue(text, 'gateway_replayed_events_total')).toBe(500);
      expect(
        reader.records.filter((r) => r.key.startsWith('node001.cluster/preload/kill/')).length,
      ).toBeGreaterThanOrEqual(500);
    } finally {
      await reader.stop();
      second.kill('SIGTERM');
      await new Promise((resolve) => second.once('exit', resolve));
    }
    expect(second.exitCode).toBe(0);
  }, 180_000);
});
