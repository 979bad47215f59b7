import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../errors.js';
import { decodeFrame, encodeFrame, encodeMessageIndexes } from './frame.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('message indexes', () => {
  // Vectors from the Confluent wire-format spec: [0] is the single byte 0x00; otherwise a zig-zag
  // varint count, then zig-zag varint indexes.
  it.each([
    [[0], '00'],
    [[1], '0202'],
    [[2, 1], '040402'],
    [[0, 0], '040000'],
    [[64], '028001'],
    [[1, 2, 3], '06020406'],
  ])('encodes %j as %s', (indexes, expected) => {
    expect(hex(encodeMessageIndexes(indexes))).toBe(expected);
  });

  it('rejects an empty or negative path as a programmer error', () => {
    expect(() => encodeMessageIndexes([])).toThrow(TypeError);
    expect(() => encodeMessageIndexes([-1])).toThrow(TypeError);
  });
});

describe('frame', () => {
  it.each([[[0]], [[1]], [[3, 0, 2]], [[200]]])(
    'round-trips message indexes %j',
    (messageIndexes) => {
      const payload = Uint8Array.from([0x0a, 0x02, 0x68, 0x69]);
      const framed = encodeFrame({ schemaId: 0x01020304, messageIndexes, payload });
      expect(hex(framed.subarray(0, 5))).toBe('0001020304');
      const frame = decodeFrame(framed);
      expect(frame.schemaId).toBe(0x01020304);
      expect(frame.messageIndexes).toEqual(messageIndexes);
      expect(hex(frame.payload)).toBe(hex(payload));
    },
  );

  it('keeps an empty payload (a message with every field at its default)', () => {
    const frame = decodeFrame(
      encodeFrame({ schemaId: 7, messageIndexes: [0], payload: new Uint8Array() }),
    );
    expect(frame.payload.length).toBe(0);
    expect(frame.messageIndexes).toEqual([0]);
  });

  it('reads a count of zero as [0], as Confluent serializers write it', () => {
    expect(decodeFrame(Buffer.from('000000000500aa', 'hex')).messageIndexes).toEqual([0]);
  });

  it.each([
    ['empty', '', 'truncated'],
    ['header only', '0000000001', 'truncated'],
    ['wrong magic byte', '0100000001000a', 'bad-magic-byte'],
    ['negative schema id', '00ffffffff00', 'bad-magic-byte'],
    ['varint cut off', '000000000182', 'truncated'],
    ['count larger than the frame', '00000000017f02', 'bad-message-indexes'],
    ['negative count', '000000000103', 'bad-message-indexes'],
    ['negative index', '00000000010201', 'bad-message-indexes'],
    ['varint longer than 5 bytes', '000000000102ffffffffff01', 'bad-message-indexes'],
  ])('rejects %s with a typed error', (_name, input, code) => {
    const error = (() => {
      try {
        decodeFrame(Buffer.from(input, 'hex'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CodecError);
    expect((error as CodecError).code).toBe(code);
  });

  it('never throws anything but CodecError on random bytes', () => {
    for (let i = 0; i < 20_000; i++) {
      const input = randomBytes(i % 24);
      if (i % 2 === 0 && input.length > 0) input[0] = 0;
      try {
        decodeFrame(input);
      } catch (error) {
        expect(error).toBeInstanceOf(CodecError);
      }
    }
  });
});
