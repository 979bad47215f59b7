import { FAMILIES } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';
import { PROTO_SOURCES } from '@vigil/schemas/sources';
import { describe, expect, it } from 'vitest';
import { compileWalker, loadRoot, RECURSION_LIMIT, WireError } from './wire.js';

const root = loadRoot(PROTO_SOURCES);
const hex = (text: string) => Buffer.from(text.replaceAll(' ', ''), 'hex');

/** The walk's verdict: 'ok' or its message. */
function walked(walker: ReturnType<typeof compileWalker>, bytes: Buffer): string {
  try {
    walker.walk(bytes);
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    return (error as Error).message;
  }
}

function decodes(decode: (b: Buffer) => unknown, bytes: Buffer): boolean {
  try {
    decode(bytes);
    return true;
  } catch {
    return false;
  }
}

describe('compileWalker', () => {
  it('compiles every family record type from the .proto text', () => {
    for (const family of FAMILIES) {
      const walker = compileWalker(root, family.recordType, { id: 'envelope.event_id' });
      expect(walker.typeName).toBe(family.recordType);
    }
  });

  it('refuses captures it cannot report', () => {
    const t = 'vigil.process.v1.ProcessEvent';
    expect(() => compileWalker(root, t, { x: 'envelope.nope' })).toThrow(TypeError);
    expect(() => compileWalker(root, t, { x: 'start.argv' })).toThrow(/repeated/);
    expect(() => compileWalker(root, t, { x: 'start.pid' })).toThrow(/not string, bytes/);
    expect(() => compileWalker(root, t, { x: 'envelope.host.x' })).toThrow(/not a message/);
  });

  it('reports the last occurrence, and forgets what was under a message that occurs again', () => {
    const walker = compileWalker(root, 'vigil.status.v1.StatusEvent', {
      ref: 'snapshot.service',
      site: 'snapshot.service.site',
      host: 'snapshot.service.host',
    });
    // snapshot{service{site "a", host "b"}}, snapshot{service{site "c"}}
    const bytes = hex('12 08 0a 06 0a 01 61 1a 01 62  12 05 0a 03 0a 01 63');
    walker.walk(bytes);
    const text = (name: string) => {
      const slot = walker.slots[name]!;
      const start = walker.starts[slot]!;
      return start < 0 ? undefined : bytes.toString('utf8', start, walker.ends[slot]);
    };
    expect([text('site'), text('host')]).toEqual(['c', undefined]);
    expect(text('ref')).toBe('\n\x01c');
  });
});

describe('the walk against protobufjs', () => {
  const decodeProcess = (b: Buffer) => vigil.process.v1.ProcessEvent.decode(b);
  const walker = compileWalker(root, 'vigil.process.v1.ProcessEvent', {});

  // Deliberately stricter than protobufjs, which accepts each of these records (and would pass it
  // on): every one is malformed by the protobuf encoding rules, and no Vigil producer writes it.
  it.each([
    // Field 1 (envelope) as a varint: protobufjs reads the varint as the envelope's length.
    ['a known field with another wire type', '08 00', /envelope.*not wire type 0/],
    // envelope{host: length 5, two bytes}: protobufjs' Buffer reader cuts the string short.
    ['a string past the end of its message', '0a 04 1a 05 61 62', /runs past the end/],
    // start{pid: ten bytes with the continuation bit}: protobufjs reads five and skips five.
    ['a varint over 10 bytes', '12 0b 08 ffffffffffffffffffff', /varint longer than 10 bytes/],
    // envelope{sequence: four bytes with the continuation bit, at its end}: protobufjs' 64-bit
    // varint reader takes the 4th byte as the last when fewer than 5 are left.
    ['a 64-bit varint cut short', '0a 05 28 80808080', /truncated varint/],
    // protobufjs skips field 0 as unknown; protoc refuses it.
    ['field number 0', '00 00', /field number 0/],
    // Group 20 closed by an end-group tag of field 21: protobufjs takes any end-group tag.
    ['a mismatched end of group', 'a3 01 ac 01', /end of group 21 inside group 20/],
  ])('refuses %s, which protobufjs accepts', (_name, bytes, message) => {
    expect(decodes(decodeProcess, hex(bytes))).toBe(true);
    expect(walked(walker, hex(bytes))).toMatch(message);
  });

  it('refuses what protobufjs refuses: wire types 6 and 7, unmatched end group, truncations', () => {
    for (const bytes of [
      'a6 01 00',
      'a7 01 00',
      'ac 01',
      '0a 05 0a 01',
      '12 02 08',
      '12 01 80',
      'a3 01',
    ]) {
      expect(decodes(decodeProcess, hex(bytes)), bytes).toBe(false);
      expect(walked(walker, hex(bytes)), bytes).not.toBe('ok');
    }
  });

  it('nests groups of unknown fields exactly as deep as protobufjs allows', () => {
    for (let depth = RECURSION_LIMIT - 2; depth <= RECURSION_LIMIT + 2; depth++) {
      // depth nested groups of field 20, a varint field 21 in the innermost one.
      const bytes = Buffer.concat([
        Buffer.from(Array.from({ length: depth }, () => [0xa3, 0x01]).flat()),
        hex('a8 01 00'),
        Buffer.from(Array.from({ length: depth }, () => [0xa4, 0x01]).flat()),
      ]);
      expect(walked(walker, bytes) === 'ok', `depth ${depth}`).toBe(decodes(decodeProcess, bytes));
    }
  });

  it('takes repeated numbers packed and unpacked, maps and enums, as protobufjs does', () => {
    const test = loadRoot({
      't.proto': `syntax = "proto3"; package t;
        enum E { E0 = 0; E1 = 1; }
        message Inner { string s = 1; }
        message M {
          repeated uint32 v = 1; repeated fixed32 f = 2; repeated sfixed64 g = 3;
          repeated E e = 4; map<string, Inner> m = 5; map<int32, string> n = 6;
        }`,
    });
    const M = test.lookupType('t.M');
    const w = compileWalker(test, 't.M', {});
    const decodeM = (b: Buffer) => M.decode(b);
    const packed = Buffer.from(
      M.encode(
        M.fromObject({
          v: [1, 300, 0xffffffff],
          f: [7, 8],
          g: ['-5', '9'],
          e: [1, 0],
          m: { a: { s: 'x' }, b: {} },
          n: { 1: 'one', [-2]: 'minus two' },
        }),
      ).finish(),
    );
    // The same values unpacked: one tag per value (field 1 varints, 2 fixed32, 3 fixed64, 4 enum).
    const unpacked = hex('08 01 08 ac02 15 07000000 19 0900000000000000 20 01 20 00');
    const cases: [string, Buffer][] = [
      ['packed', packed],
      ['unpacked', unpacked],
      ['packed fixed32 of 3 bytes', hex('12 03 010203')],
      ['packed varints cut short', hex('0a 02 01 80')],
      ['map entry with a wrong wire type', hex('32 02 0a 00')],
      ['map value message cut short', hex('2a 05 0a 01 61 12 05')],
      ['enum as fixed32', hex('25 01 08 01')],
    ];
    const verdicts = cases.map(([name, bytes]) => [
      name,
      walked(w, bytes) === 'ok',
      decodes(decodeM, bytes),
    ]);
    expect(verdicts).toEqual([
      ['packed', true, true],
      ['unpacked', true, true],
      ['packed fixed32 of 3 bytes', false, false],
      ['packed varints cut short', false, false],
      // protobufjs reads entry field 1 (the int32 key) as a varint whatever its wire type.
      ['map entry with a wrong wire type', false, true],
      ['map value message cut short', false, false],
      // Likewise for a repeated enum (the walk takes wire type 0 or 2 only).
      ['enum as fixed32', false, true],
    ]);
  });
});
