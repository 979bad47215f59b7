import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../events.js';
import { listenFrames, outputBytes, waitFor, type FrameListener } from '../test-kit.js';
import { createDeferredOutput } from './deferred.js';
import { createGatewayOutput, isWholeFrames, type GatewayOutputOptions } from './gateway.js';

const listeners: FrameListener[] = [];
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

const output = (data: Buffer, offsetNs = 1n): SessionEvent => ({ type: 'output', offsetNs, data });
const exit: SessionEvent = {
  type: 'exit',
  offsetNs: 9n,
  exitStatus: 0,
  reason: 'exit',
  signal: 0,
  outputBytes: 0n,
};

function options(path: string, over: Partial<GatewayOutputOptions> = {}): GatewayOutputOptions {
  return {
    address: { path },
    context: { sessionId: randomBytes(16), host: 'h', producerId: 'recorder/t', startUnixNano: 0n },
    spoolMaxBytes: 1024 * 1024,
    reconnectInitialMs: 20,
    reconnectMaxMs: 100,
    closeTimeoutMs: 3000,
    offsetNow: () => 5n,
    ...over,
  };
}

describe('gateway output', () => {
  it('holds events while the gateway is away and sends them, in order, once it is up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rec-gw-'));
    const path = join(dir, 'gw.sock');
    const out = createGatewayOutput(options(path));
    const started = Date.now();
    for (let i = 0; i < 50; i++) out.event(output(Buffer.from(`chunk ${i};`)));
    expect(Date.now() - started).toBeLessThan(1000); // never waits for the socket
    expect(out.stats().connected).toBe(false);
    const gw = await listenFrames(path);
    listeners.push(gw);
    await waitFor('all frames', () => gw.frames.length === 50);
    out.event(exit);
    await out.close();
    await waitFor('the end', () => gw.frames.some((f) => f.event.end));
    expect(outputBytes(gw.frames).toString()).toBe(
      Array.from({ length: 50 }, (_x, i) => `chunk ${i};`).join(''),
    );
    expect(gw.frames.map((f) => Number(f.event.envelope!.sequence))).toEqual(
      gw.frames.map((_f, n) => n + 1),
    );
  });

  it('drops past the spool bound and says so with a dropped event, leaving the gap in the sequence', async () => {
    // A gateway that accepts the connection but never reads: the socket and then the spool fill.
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rec-gw-'));
    const path = join(dir, 'stuck.sock');
    const held: Socket[] = [];
    const server = createServer((s) => {
      held.push(s);
      s.pause();
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const out = createGatewayOutput(
      options(path, { spoolMaxBytes: 256 * 1024, closeTimeoutMs: 100 }),
    );
    await waitFor('the connection', () => out.stats().connected);
    const chunk = randomBytes(32 * 1024);
    const started = Date.now();
    for (let i = 0; i < 400; i++) out.event(output(chunk)); // 12.8 MB
    expect(Date.now() - started).toBeLessThan(2000);
    const stats = out.stats();
    expect(stats.droppedEvents).toBeGreaterThan(0);
    expect(stats.queuedBytes).toBeLessThanOrEqual(256 * 1024);
    // Now it reads again: what was kept arrives, then the report of what was not.
    for (const s of held) s.destroy();
    server.close();
    const gw = await listenFrames(join(dir, 'gw2.sock'));
    listeners.push(gw);
    const out2 = createGatewayOutput(options(gw.path, { spoolMaxBytes: 256 * 1024 }));
    for (let i = 0; i < 400; i++) out2.event(output(chunk));
    out2.event(exit);
    await out2.close();
    const dropped = await waitFor('the dropped report', () =>
      gw.frames.find((f) => f.event.dropped),
    );
    const d = dropped.event.dropped!;
    expect(d.reason).toBe('gateway_down');
    expect(Number(d.bytes)).toBe(Number(d.events) * chunk.length);
    await waitFor('the end', () => gw.frames.some((f) => f.event.end));
    const outputs = gw.frames.filter((f) => f.event.output).length;
    expect(outputs + Number(d.events)).toBe(400);
    const sequences = gw.frames.map((f) => Number(f.event.envelope!.sequence));
    expect(Math.max(...sequences) - gw.frames.length).toBe(Number(d.events)); // the gap is the loss
    await out.close();
  });

  it('keeps what it could not send at the end in the spool directory, and the next session sends it first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rec-gw-'));
    const spoolDir = join(dir, 'spool');
    const path = join(dir, 'gw.sock');
    const first = createGatewayOutput(
      options(path, { spoolDir, spoolDirMaxBytes: 1024 * 1024, closeTimeoutMs: 50 }),
    );
    first.event(output(Buffer.from('from the first session')));
    first.event(exit);
    await first.close();
    const files = readdirSync(spoolDir);
    expect(files).toHaveLength(1);
    const gw = await listenFrames(path);
    listeners.push(gw);
    const second = createGatewayOutput(options(path, { spoolDir, spoolDirMaxBytes: 1024 * 1024 }));
    second.event(output(Buffer.from(' and the second')));
    second.event(exit);
    await second.close();
    await waitFor('both sessions', () => gw.frames.filter((f) => f.event.end).length === 2);
    expect(outputBytes(gw.frames).toString()).toBe('from the first session and the second');
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  it('reports output the relay could not hand over as a dropped event (relay_behind), no gap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rec-gw-'));
    const gw = await listenFrames(join(dir, 'gw.sock'));
    listeners.push(gw);
    const out = createGatewayOutput(options(gw.path));
    out.event(output(Buffer.from('a')));
    out.event({ type: 'output-lost', offsetNs: 2n, bytes: 4096 });
    out.event(output(Buffer.from('b')));
    out.event(exit);
    await out.close();
    await waitFor('the end', () => gw.frames.some((f) => f.event.end));
    const dropped = gw.frames.find((f) => f.event.dropped)!.event.dropped!;
    expect({ bytes: Number(dropped.bytes), events: Number(dropped.events) }).toEqual({
      bytes: 4096,
      events: 0,
    });
    expect(dropped.reason).toBe('relay_behind');
    expect(outputBytes(gw.frames).toString()).toBe('ab');
    expect(gw.frames.map((f) => Number(f.event.envelope!.sequence))).toEqual([1, 2, 3, 4]);
  });

  it('recognises whole frame sequences', () => {
    const frame = (n: number) => Buffer.concat([Buffer.from([0, 0, 0, n]), Buffer.alloc(n, 1)]);
    expect(isWholeFrames(Buffer.concat([frame(3), frame(5)]))).toBe(true);
    expect(isWholeFrames(Buffer.concat([frame(3), frame(5)]).subarray(0, 10))).toBe(false);
    expect(isWholeFrames(Buffer.from([0, 0, 0, 0]))).toBe(false);
  });

  it('takes over the events held before it existed, with a loss there as a gap and a dropped event', async () => {
    const gw = await listenFrames();
    listeners.push(gw);
    const deferred = createDeferredOutput(10);
    for (const text of ['aaaa', 'bbbb', 'cccccc', 'dd']) deferred.event(output(Buffer.from(text)));
    deferred.event({ type: 'marker', offsetNs: 2n, label: 'm' });
    deferred.attach(createGatewayOutput(options(gw.path)));
    deferred.event(output(Buffer.from('ee')));
    deferred.event(exit);
    await deferred.close();
    await waitFor('the end', () => gw.frames.some((f) => f.event.end));
    expect(gw.problems).toEqual([]);
    expect(
      gw.frames.map((f) => [
        Number(f.event.envelope!.sequence),
        f.event.body,
        f.event.output ? Buffer.from(f.event.output.data!).toString() : '',
      ]),
    ).toEqual([
      [1, 'output', 'aaaa'],
      [2, 'output', 'bbbb'],
      // 3: "cccccc" did not fit in the 10 bytes held
      [4, 'dropped', ''],
      [5, 'output', 'dd'],
      [6, 'marker', ''],
      [7, 'output', 'ee'],
      [8, 'end', ''],
    ]);
    const dropped = gw.frames.find((f) => f.event.dropped)!.event.dropped!;
    expect([Number(dropped.bytes), Number(dropped.events), dropped.reason]).toEqual([
      6,
      1,
      'spool_full',
    ]);
  });

  it('throws the held events away when abandoned (a bad config) and closes at once', async () => {
    const deferred = createDeferredOutput(1024);
    deferred.event(output(Buffer.from('x')));
    deferred.abandon();
    deferred.event(output(Buffer.from('y')));
    await deferred.close();
  });
});
