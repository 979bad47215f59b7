import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayOutput } from './outputs/gateway.js';
import { startSession } from './session.js';
import { listenFrames, outputBytes, waitFor, type FrameListener } from './test-kit.js';

/** What a pty with default settings (OPOST, ONLCR) shows for `bytes`: every \n becomes \r\n. */
function throughPty(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) {
    parts.push(bytes.subarray(from, i), Buffer.from('\r\n'));
    from = i + 1;
  }
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-rec-session-'));
const RELAY = fileURLToPath(new URL('../dist/vigil-rec-relay', import.meta.url));
let gateway: FrameListener;

beforeAll(async () => {
  gateway = await listenFrames();
});
afterAll(async () => {
  await gateway.close();
});

/**
 * Records `command`. With `relay`, the output goes through that relay program to a file standing
 * for the user's terminal (what it shows is then read from there).
 */
async function record(command: string, options: { gatewayOutput?: boolean; relay?: string } = {}) {
  let shown: Buffer[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _enc, callback) {
      shown.push(chunk);
      callback();
    },
  });
  const origin = process.hrtime.bigint();
  const sessionId = randomBytes(16);
  const outputs = options.gatewayOutput
    ? [
        createGatewayOutput({
          address: { path: gateway.path },
          context: { sessionId, host: 'test', producerId: 'recorder/test', startUnixNano: 0n },
          spoolMaxBytes: 64 * 1024 * 1024,
          reconnectInitialMs: 50,
          reconnectMaxMs: 500,
          closeTimeoutMs: 5000,
          offsetNow: () => process.hrtime.bigint() - origin,
        }),
      ]
    : [];
  const terminalFile = join(dir, 'terminal.out');
  const terminalFd = options.relay ? openSync(terminalFile, 'w') : -1;
  let fellBack = false;
  const session = startSession({
    file: '/bin/sh',
    args: ['-c', command],
    env: process.env,
    cwd: dir,
    info: {
      user: 'u',
      uid: 0,
      tty: '',
      term: 'xterm',
      shell: '/bin/sh',
      command: [command],
      cols: 120,
      rows: 40,
      sshClient: '',
      jobId: '',
      inputRecorded: false,
    },
    outputs,
    stdin: new PassThrough(),
    stdout,
    batch: { maxBytes: 64 * 1024, maxDelayMs: 20 },
    origin,
    ...(options.relay
      ? { relay: { path: options.relay, terminalFd, onFallback: () => (fellBack = true) } }
      : {}),
  });
  const relayed = session.relayed;
  const result = await session.done;
  if (terminalFd >= 0) {
    closeSync(terminalFd);
    shown.unshift(readFileSync(terminalFile));
  }
  const screen = Buffer.concat(shown);
  shown = [];
  return { result, screen, sessionId, relayed, fellBack };
}

describe('recording a program that exits right after a large output', () => {
  // 2 MB of random bytes (invalid UTF-8 included), in lines so the pty's \n → \r\n is exercised.
  const payload = Buffer.concat(
    Array.from({ length: 2048 }, () =>
      Buffer.concat([randomBytes(1023).map((b) => (b === 0x0a ? 0x0b : b)), Buffer.from('\n')]),
    ),
  );
  const file = join(dir, 'payload.bin');
  writeFileSync(file, payload);
  const expected = throughPty(payload);

  it.each([
    ['the relay program', RELAY],
    ['Node', undefined],
  ])(
    'loses 0 bytes in 100 of 100 runs through %s (screen and event stream, byte for byte)',
    async (_name, relay) => {
      let lost = 0;
      let runs = 0;
      for (let i = 0; i < 100; i++) {
        // Every tenth run also streams to the gateway stand-in, so both paths are covered.
        const viaGateway = i % 10 === 0;
        const { result, screen, sessionId, relayed } = await record(`cat ${file}; exit 0`, {
          gatewayOutput: viaGateway,
          ...(relay ? { relay } : {}),
        });
        expect(relayed).toBe(relay !== undefined);
        expect(result.exitStatus).toBe(0);
        if (!screen.equals(expected)) lost++;
        expect(result.outputBytes).toBe(BigInt(expected.length));
        if (viaGateway) {
          const mine = () => gateway.frames.filter((f) => sessionId.equals(f.event.sessionId));
          const end = await waitFor('the end event', () => mine().find((f) => f.event.end));
          expect(end.event.end!.outputBytes!.toString()).toBe(String(expected.length));
          if (!outputBytes(mine()).equals(expected)) lost++;
          // Numbered 1, 2, 3, ... without a gap.
          expect(mine().map((f) => Number(f.event.envelope!.sequence))).toEqual(
            mine().map((_f, n) => n + 1),
          );
        }
        runs++;
      }
      expect({ runs, lost }).toEqual({ runs: 100, lost: 0 });
    },
    120_000,
  );

  it.each([
    ['is missing', join(dir, 'no-such-relay')],
    ['exits at once', '/bin/true'],
  ])('relays in Node when the relay program %s', async (_name, relay) => {
    const { result, screen, fellBack } = await record(`cat ${file}; exit 3`, { relay });
    expect(fellBack).toBe(true);
    expect(result.exitStatus).toBe(3);
    expect(result.outputBytes).toBe(BigInt(expected.length));
    expect(screen.equals(expected)).toBe(true);
  });

  it('passes the exit status and the signal through', async () => {
    expect((await record('exit 42')).result).toMatchObject({
      exitStatus: 42,
      signal: 0,
      reason: 'exit',
    });
    expect((await record('kill -TERM $$')).result).toMatchObject({
      exitStatus: null,
      signal: 15,
      reason: 'signal',
    });
  });
});
