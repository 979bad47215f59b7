import Long from 'long';
import { describe, expect, it } from 'vitest';
import { vigil } from '@vigil/schemas/gen';
import { CodecError } from './errors.js';
import {
  bodyBytes,
  computeMac,
  macInput,
  macMatches,
  parseKeyText,
  signMessage,
} from './signature.js';

const key = Buffer.alloc(32, 7);
const envelope = {
  eventId: Buffer.from('0193a0b0c0d07e008000000000000001', 'hex'),
  sourceKind: vigil.envelope.v1.SourceKind.SOURCE_KIND_PRELOAD,
  host: 'node001',
  producerId: 'preload/boot/42',
  sequence: 3,
  timeUnixNano: 1_790_000_000_123_456_789n,
};

function record(argv: string[], extraUnknownField = false): Uint8Array {
  const bytes = vigil.process.v1.ProcessEvent.encode({
    envelope: { eventId: envelope.eventId, host: envelope.host },
    start: { pid: 42, argv: argv.map((a) => Buffer.from(a)) },
  }).finish();
  // Field 99, length-delimited: what a newer schema version might add.
  return extraUnknownField ? Buffer.concat([bytes, Buffer.from('9a0602ffff', 'hex')]) : bytes;
}

describe('signatures', () => {
  it('lays out the MAC input as FORMAT.md says', () => {
    const input = macInput(envelope, record(['a']));
    expect(input.subarray(0, 13).toString('latin1')).toBe('vigil-sig-v1\0');
    expect(input.subarray(13, 29)).toEqual(envelope.eventId);
    expect(input[29]).toBe(1);
    expect(input.readBigUInt64BE(30)).toBe(3n);
    expect(input.readBigUInt64BE(38)).toBe(1_790_000_000_123_456_789n);
    expect(input.readUInt16BE(46)).toBe(7);
    expect(input.subarray(48, 55).toString()).toBe('node001');
  });

  it('covers the body but not the envelope field itself', () => {
    const body = bodyBytes(record(['a']));
    expect(body[0]).toBe(0x12); // field 2 (start), length-delimited
    expect(body.includes(Buffer.from('node001'))).toBe(false);
  });

  it('verifies what it signed, and nothing changed', () => {
    const mac = computeMac(key, envelope, record(['ls', '-l']));
    expect(macMatches(key, envelope, record(['ls', '-l']), mac)).toBe(true);
    expect(macMatches(key, envelope, record(['ls', '-L']), mac)).toBe(false);
    expect(macMatches(key, { ...envelope, sequence: 4 }, record(['ls', '-l']), mac)).toBe(false);
    expect(macMatches(key, { ...envelope, host: 'node002' }, record(['ls', '-l']), mac)).toBe(
      false,
    );
    expect(macMatches(Buffer.alloc(32, 8), envelope, record(['ls', '-l']), mac)).toBe(false);
  });

  it('covers fields the verifier does not know', () => {
    const mac = computeMac(key, envelope, record(['x'], true));
    expect(macMatches(key, envelope, record(['x'], true), mac)).toBe(true);
    expect(macMatches(key, envelope, record(['x'], false), mac)).toBe(false);
  });

  it('rejects malformed records with a typed error', () => {
    expect(() => bodyBytes(Buffer.from('12ff', 'hex'))).toThrow(CodecError);
    expect(() => bodyBytes(Buffer.from('0b', 'hex'))).toThrow(CodecError); // group start
    expect(() => bodyBytes(Buffer.from('00', 'hex'))).toThrow(CodecError); // field 0
  });

  it('signs a message so that a verifier accepts the encoded record, and only that one', () => {
    const message = vigil.process.v1.ProcessEvent.create({
      envelope: {
        ...envelope,
        sequence: Long.fromNumber(3, true),
        timeUnixNano: Long.fromString('1790000000123456789', true),
      },
      start: { pid: 42, argv: [Buffer.from('a')] },
    });
    signMessage(vigil.process.v1.ProcessEvent, message, 'site-1', key);
    const signature = message.envelope!.signature!;
    expect(signature.keyId).toBe('site-1');
    const bytes = vigil.process.v1.ProcessEvent.encode(message).finish();
    expect(macMatches(key, envelope, bytes, signature.hmacSha256!)).toBe(true);
    message.start!.pid = 43;
    const changed = vigil.process.v1.ProcessEvent.encode(message).finish();
    expect(macMatches(key, envelope, changed, signature.hmacSha256!)).toBe(false);
  });

  it('reads key files as hex, blanks ignored, and refuses anything else', () => {
    expect(parseKeyText(' 00ff\n10 ab\n').toString('hex')).toBe('00ff10ab');
    for (const bad of ['', 'abc', 'zz', '0x00'])
      expect(() => parseKeyText(bad)).toThrow(/hex digits/);
  });
});
