import { describe, expect, it } from 'vitest';
import { vigil } from '@vigil/schemas/gen';
import { encodeSessionFrame, encodeSessionFrameParts } from './encode.js';

const context = {
  sessionId: Buffer.alloc(16, 7),
  host: 'login1',
  producerId: 'recorder/x',
  startUnixNano: 1_800_000_000_000_000_000n,
};

describe('encodeSessionFrame', () => {
  it('frames a SessionEvent as length, VG, version 1, family 2, record', () => {
    const data = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28]);
    const frame = encodeSessionFrame(
      { type: 'output', offsetNs: 1_500_000_000n, data },
      context,
      3n,
    )!;
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    expect([...frame.subarray(4, 8)]).toEqual([0x56, 0x47, 1, 2]);
    const event = vigil.session.v1.SessionEvent.decode(frame.subarray(8));
    expect(Buffer.from(event.output!.data!)).toEqual(data);
    expect(event.offsetNs.toString()).toBe('1500000000');
    expect(Buffer.from(event.sessionId)).toEqual(context.sessionId);
    const env = event.envelope!;
    expect(env.eventId!.length).toBe(16);
    expect(env.eventId![6]! >> 4).toBe(7); // UUIDv7
    expect(env.sourceKind).toBe(vigil.envelope.v1.SourceKind.SOURCE_KIND_RECORDER);
    expect(env.host).toBe('login1');
    expect(env.producerId).toBe('recorder/x');
    expect(env.sequence!.toString()).toBe('3');
    expect(env.timeUnixNano!.toString()).toBe('1800000001500000000');
  });

  it('encodes every body kind the gateway carries, and nothing for command-start', () => {
    const body = (frame: Buffer | undefined) =>
      vigil.session.v1.SessionEvent.decode(frame!.subarray(8)).body;
    expect(
      body(encodeSessionFrame({ type: 'resize', offsetNs: 0n, cols: 120, rows: 40 }, context, 1n)),
    ).toBe('resize');
    expect(
      body(encodeSessionFrame({ type: 'marker', offsetNs: 0n, label: 'x' }, context, 1n)),
    ).toBe('marker');
    expect(
      body(
        encodeSessionFrame({ type: 'input', offsetNs: 0n, data: Buffer.from('a') }, context, 1n),
      ),
    ).toBe('input');
    const command = encodeSessionFrame(
      {
        type: 'command',
        offsetNs: 9n,
        text: Buffer.from('ls'),
        cwd: Buffer.from('/'),
        startOffsetNs: 5n,
        endOffsetNs: 9n,
        exitStatus: 2,
        index: 1,
      },
      context,
      1n,
    )!;
    const c = vigil.session.v1.SessionEvent.decode(command.subarray(8)).command!;
    expect([
      Buffer.from(c.text!).toString(),
      c.exitStatus,
      c.index,
      c.startOffsetNs!.toString(),
    ]).toEqual(['ls', 2, 1, '5']);
    const end = encodeSessionFrame(
      {
        type: 'exit',
        offsetNs: 9n,
        exitStatus: null,
        reason: 'signal',
        signal: 9,
        outputBytes: 10n,
      },
      context,
      1n,
    )!;
    const e = vigil.session.v1.SessionEvent.decode(end.subarray(8)).end!;
    expect([e.reason, e.signal, e.outputBytes!.toString()]).toEqual([
      vigil.session.v1.EndReason.END_REASON_SIGNAL,
      9,
      '10',
    ]);
    expect(
      body(
        encodeSessionFrame(
          { type: 'dropped', offsetNs: 0n, bytes: 5n, events: 1n, reason: 'spool_full' },
          context,
          1n,
        ),
      ),
    ).toBe('dropped');
    expect(
      encodeSessionFrame(
        { type: 'command-start', offsetNs: 0n, text: Buffer.from('ls'), cwd: Buffer.from('/') },
        context,
        1n,
      ),
    ).toBeUndefined();
  });

  it('writes output and input without copying the data, decoding as the generic encoder does', () => {
    const decode = (frame: Buffer) => {
      const event = vigil.session.v1.SessionEvent.decode(frame.subarray(8));
      event.envelope!.eventId = new Uint8Array(16); // random per frame
      return vigil.session.v1.SessionEvent.toObject(event, { longs: String, bytes: Array });
    };
    for (const size of [1, 127, 128, 300, 16_383, 16_384, 65_536, 512 * 1024]) {
      const data = Buffer.alloc(size, 0xab);
      for (const type of ['output', 'input'] as const) {
        const event = { type, offsetNs: 123_456_789n, data };
        const parts = encodeSessionFrameParts(event, context, 77n)!;
        expect(parts).toHaveLength(2);
        expect(parts[1]).toBe(data); // the same buffer, not a copy
        const frame = Buffer.concat(parts);
        const generic = encodeSessionFrame(event, context, 77n)!;
        expect(frame.length).toBe(generic.length);
        expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
        expect(decode(frame)).toEqual(decode(generic));
        // Byte for byte the same apart from the 16 random bytes of the event id.
        const diff = [...frame].filter((b, i) => b !== generic[i]).length;
        expect(diff).toBeLessThanOrEqual(16);
      }
    }
    const resize = encodeSessionFrameParts(
      { type: 'resize', offsetNs: 0n, cols: 1, rows: 2 },
      context,
      1n,
    )!;
    expect(resize).toHaveLength(1);
  });
});
