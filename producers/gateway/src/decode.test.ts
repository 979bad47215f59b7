import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { newEventId } from '@vigil/pipeline/events';
import { sampleEvents } from '@vigil/pipeline/testing';
import { FAMILIES, familyByName, type Family, type FamilyName } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  DecodeError,
  encodeTransport,
  MAX_DATAGRAM_BYTES,
  type GatewayEvent,
} from './decode.js';
import { decodeWithProtobufjs } from './decode-with-protobufjs.js';
import { processDatagram } from './testkit.js';

interface Case {
  name: string;
  hex: string;
  accept?: string;
  reason?: string;
}
const cases = JSON.parse(
  readFileSync(new URL('../testdata/datagrams.json', import.meta.url), 'utf8'),
) as Case[];

function reasonOf(bytes: Uint8Array, max = MAX_DATAGRAM_BYTES): string {
  try {
    decodeMessage(bytes, max);
    return 'accepted';
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return (error as DecodeError).reason;
  }
}

describe('decodeMessage over testdata/datagrams.json', () => {
  it.each(cases.filter((c) => c.accept))(
    'accepts $name, value byte for byte',
    ({ hex, accept }) => {
      const bytes = Buffer.from(hex, 'hex');
      const event = decodeMessage(bytes, MAX_DATAGRAM_BYTES);
      expect(event.family.name).toBe(accept);
      expect(Buffer.from(event.value).equals(bytes.subarray(4))).toBe(true);
      expect(event.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
      expect(event.key.length).toBeGreaterThan(0);
    },
  );

  it.each(cases.filter((c) => c.reason))('refuses $name as $reason', ({ hex, reason }) => {
    expect(reasonOf(Buffer.from(hex, 'hex'))).toBe(reason);
  });
});

describe('decodeMessage', () => {
  it('refuses a message over the size limit before decoding it', () => {
    const good = Buffer.from(cases[0]!.hex, 'hex');
    expect(reasonOf(good, good.length - 1)).toBe('too_large');
    expect(reasonOf(good, good.length)).toBe('accepted');
  });

  it('never throws anything but DecodeError for random input', () => {
    for (let i = 0; i < 2000; i++) {
      const random = randomBytes(4 + (i % 300));
      if (i % 2 === 0) random.set([0x56, 0x47, 0x01, 1 + (i % 6)]); // past the header, into protobuf
      reasonOf(random);
    }
  });

  it('keys one process by host and producer id, so its start and end stay in order', () => {
    const start = sampleEvents().find((e) => e.family === 'process')!
      .message as vigil.process.v1.ProcessEvent;
    const end = vigil.process.v1.ProcessEvent.create({
      envelope: start.envelope,
      end: { pid: 4242, exitStatus: 0 },
    });
    const encode = (m: vigil.process.v1.ProcessEvent) =>
      encodeTransport(familyByName('process'), vigil.process.v1.ProcessEvent.encode(m).finish());
    const a = decodeMessage(encode(start), MAX_DATAGRAM_BYTES);
    const b = decodeMessage(encode(end), MAX_DATAGRAM_BYTES);
    expect(a.key).toBe(`${start.envelope!.host}/${start.envelope!.producerId}`);
    expect(b.key).toBe(a.key);
  });

  it('keys a session by its session id and a status event by site/host/service', () => {
    for (const sample of sampleEvents()) {
      const family = familyByName(sample.family as never);
      const type = family.recordType
        .split('.')
        .reduce<Record<string, unknown>>((node, part) => node[part] as Record<string, unknown>, {
          vigil,
        }) as unknown as {
        encode(m: object): { finish(): Uint8Array };
      };
      const event = decodeMessage(
        encodeTransport(family, type.encode(sample.message).finish()),
        MAX_DATAGRAM_BYTES,
      );
      if (sample.family === 'session') {
        const m = sample.message as vigil.session.v1.SessionEvent;
        expect(event.key.replaceAll('-', '')).toBe(Buffer.from(m.sessionId).toString('hex'));
      }
      if (sample.family === 'status') {
        const m = sample.message as vigil.status.v1.StatusEvent;
        const ref = m.snapshot?.service ?? m.stateChange?.service;
        if (ref) expect(event.key).toBe(`${ref.site}/${ref.host}/${ref.service}`);
      }
    }
  });

  // The preload's own tests write golden datagrams here; C and TypeScript share one fixture set.
  const golden = new URL('../../../preload/tests/golden/', import.meta.url);
  const goldenFiles = existsSync(golden)
    ? readdirSync(golden).filter((f) => f.endsWith('.bin'))
    : [];
  it('finds the preload golden datagrams (committed in preload/tests/golden)', () => {
    expect(goldenFiles).toEqual(expect.arrayContaining(['start.bin', 'end.bin']));
  });
  it.each(goldenFiles)('accepts the preload golden datagram %s', (file) => {
    const bytes = readFileSync(new URL(file, golden));
    expect(decodeMessage(bytes, MAX_DATAGRAM_BYTES).family.name).toBe('process');
  });
});

/** The generated class of a family's record value. */
function recordClass(family: Family): {
  create(m: object): object;
  encode(m: object): { finish(): Uint8Array };
} {
  return family.recordType
    .split('.')
    .reduce<Record<string, unknown>>((node, part) => node[part] as Record<string, unknown>, {
      vigil,
    }) as never;
}

function datagram(name: FamilyName, message: object): Buffer {
  const family = familyByName(name);
  const type = recordClass(family);
  return encodeTransport(family, type.encode(type.create(message)).finish());
}

type Outcome =
  | { readonly ok: true; readonly event: GatewayEvent }
  | { readonly ok: false; readonly reason: string; readonly message: string };

function outcome(decode: typeof decodeMessage, bytes: Buffer): Outcome {
  try {
    return { ok: true, event: decode(bytes, MAX_DATAGRAM_BYTES) };
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    return { ok: false, reason: error.reason, message: error.message };
  }
}

const view = (o: Outcome) =>
  o.ok
    ? {
        family: o.event.family.name,
        key: o.event.key,
        eventId: o.event.eventId,
        value: Buffer.from(o.event.value).toString('hex'),
      }
    : { reason: o.reason };

/**
 * Where the walk refuses what protobufjs takes (wire.ts says why each is no loss). A refusal by
 * the walk that protobufjs accepts must match one of these; any other is a bug.
 */
const STRICTER: readonly { readonly name: string; readonly message: RegExp }[] = [
  // protobufjs reads a known field as its declared type whatever the wire type says.
  { name: 'wrong wire type for a known field', message: /, not wire type \d/ },
  // protobufjs' Buffer reader cuts a string short at the end of its message instead of failing.
  { name: 'string past the end of its message', message: /runs past the end of its message/ },
  // protobufjs skips up to 5 bytes after a 5-byte uint32 unread, and ends a 64-bit varint
  // after its 4th byte near the end of a message.
  { name: 'malformed varint', message: /varint longer than 10 bytes|truncated varint|tag over 32/ },
  // protobufjs skips field 0 as an unknown field; protoc's parsers refuse it.
  { name: 'field number 0', message: /field number 0/ },
  // protobufjs closes a group with any end-group tag.
  { name: 'mismatched end of group', message: /end of group \d+ inside group/ },
];

function stricterCase(o: Outcome): string | undefined {
  if (o.ok || o.reason !== 'bad_record') return undefined;
  return STRICTER.find((s) => s.message.test(o.message))?.name;
}

/** xorshift32: the same mutations on every run. */
function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

function valid(): Buffer[] {
  const fromSamples = sampleEvents().map((s) => datagram(s.family as FamilyName, s.message));
  return [...fromSamples, processDatagram(7).bytes, ...keyCases().map((c) => c.bytes)];
}

/** Records whose key comes from a fallback, an absent field or a repeated field. */
function keyCases(): { name: string; bytes: Buffer }[] {
  const env = (host = 'node001') => ({ eventId: newEventId(), host, producerId: 'p/1' });
  const ref = { site: 's', source: 'src', host: 'h', service: 'svc' };
  const cases: [string, FamilyName, object][] = [
    ['process end without host', 'process', { envelope: { eventId: newEventId() }, end: {} }],
    ['session id of 8 bytes', 'session', { envelope: env(), sessionId: Buffer.alloc(8, 7) }],
    ['session without id', 'session', { envelope: env(), marker: { label: 'x' } }],
    ['status snapshot', 'status', { envelope: env(), snapshot: { service: ref } }],
    ['status snapshot without service', 'status', { envelope: env(), snapshot: { output: 'o' } }],
    ['status empty service', 'status', { envelope: env(), stateChange: { service: {} } }],
    ['status unreachable', 'status', { envelope: env(), sourceUnreachable: { source: 'cmk' } }],
    ['status unreachable, no source', 'status', { envelope: env(), sourceUnreachable: {} }],
    ['status recovered', 'status', { envelope: env(), sourceRecovered: { source: 'cmk' } }],
    ['status without body', 'status', { envelope: env() }],
    ['trace upload without origin', 'trace', { envelope: env('relay'), upload: {} }],
    ['trace without host', 'trace', { envelope: env(''), upload: { recordCount: 1 } }],
    ['alert notification', 'alert', { envelope: env(), notification: { alertId: 'a/1' } }],
    ['alert without body', 'alert', { envelope: env() }],
    ['watermark short id', 'watermark', { envelope: env(), registration: { watermarkId: [1] } }],
    ['watermark without body', 'watermark', { envelope: env() }],
    ['envelope without event id', 'process', { envelope: { host: 'h' }, start: { pid: 1 } }],
    ['no envelope', 'session', { sessionId: Buffer.alloc(16, 1) }],
  ];
  const out = cases.map(([name, family, message]) => ({ name, bytes: datagram(family, message) }));
  // Two records back to back are one record on the wire (protobuf merging): the last singular
  // field wins, and protobufjs replaces a message that occurs again rather than merging it.
  for (const [a, b] of [
    [3, 5], // snapshot, then stateChange: both present
    [3, 4], // a snapshot without service replaces one with
    [4, 3],
    [7, 6], // unreachable without source after one with
    [0, 16], // an envelope without event id after one with
    [16, 0],
    [11, 10],
  ] as const) {
    const first = out[a]!;
    const second = out[b]!;
    if (first.bytes[3] !== second.bytes[3]) throw new TypeError(`${first.name} + ${second.name}`);
    out.push({
      name: `${first.name} + ${second.name}`,
      bytes: Buffer.concat([first.bytes, second.bytes.subarray(4)]),
    });
  }
  return out;
}

describe('decodeMessage against protobufjs (decode-with-protobufjs.ts)', () => {
  it('keys every sample and key case as protobufjs did', () => {
    const all = [
      ...sampleEvents().map((s) => ({
        name: s.family,
        bytes: datagram(s.family as FamilyName, s.message),
      })),
      { name: 'gateway bench datagram', bytes: processDatagram(7).bytes },
      { name: 'padded datagram', bytes: processDatagram(8, 'x', 1000).bytes },
      ...keyCases(),
    ];
    expect(new Set(all.map((c) => c.bytes[3])).size).toBe(FAMILIES.length);
    for (const { name, bytes } of all) {
      expect({ name, ...view(outcome(decodeMessage, bytes)) }).toEqual({
        name,
        ...view(outcome(decodeWithProtobufjs, bytes)),
      });
    }
    const keyOf = (name: string) => {
      const o = outcome(decodeMessage, keyCases().find((c) => c.name === name)!.bytes);
      return o.ok ? o.event.key : o.reason;
    };
    // A few by hand, so the test does not only agree with itself.
    expect(keyOf('status unreachable, no source')).toBe('');
    expect(keyOf('status empty service')).toBe('//');
    expect(keyOf('session id of 8 bytes')).toBe('0707070707070707');
    expect(keyOf('status snapshot + status empty service')).toBe('s/h/svc');
    expect(keyOf('status snapshot + status snapshot without service')).toMatch(/^[0-9a-f-]{36}$/);
    expect(keyOf('status snapshot without service + status snapshot')).toBe('s/h/svc');
    expect(keyOf('process end without host + envelope without event id')).toBe('no_event_id');
    expect(keyOf('envelope without event id + process end without host')).toBe('/');
  });

  it('refuses whatever protobufjs refuses, and keys what it accepts the same, over 12,000 mutations', () => {
    const random = prng(0x5647_0001);
    const bases = valid();
    const counts: Record<string, number> = { accepted: 0, refusedByBoth: 0 };
    for (let i = 0; i < 12_000; i++) {
      const base = bases[i % bases.length]!;
      let bytes: Buffer;
      const at = 4 + random(base.length - 4);
      switch (i % 6) {
        case 0: // truncated
          bytes = base.subarray(0, at);
          break;
        case 1: {
          // one to three bytes changed
          bytes = Buffer.from(base);
          for (let n = 1 + random(3); n > 0; n--) bytes[4 + random(base.length - 4)] = random(256);
          break;
        }
        case 2: // random bytes inserted
          bytes = Buffer.concat([
            base.subarray(0, at),
            Buffer.from(Array.from({ length: 1 + random(6) }, () => random(256))),
            base.subarray(at),
          ]);
          break;
        case 3: {
          // a piece cut out
          const to = Math.min(base.length, at + 1 + random(20));
          bytes = Buffer.concat([base.subarray(0, at), base.subarray(to)]);
          break;
        }
        case 4: {
          // a wire type changed (bits 0-2 of a byte that may be a tag)
          bytes = Buffer.from(base);
          bytes[at] = (bytes[at]! & ~7) | random(8);
          break;
        }
        default: // random bytes behind a valid header
          bytes = Buffer.concat([
            base.subarray(0, 4),
            Buffer.from(Array.from({ length: random(80) }, () => random(256))),
          ]);
      }
      const walk = outcome(decodeMessage, bytes);
      const oracle = outcome(decodeWithProtobufjs, bytes);
      const context = { i, hex: bytes.toString('hex'), walk: view(walk), oracle: view(oracle) };
      if (walk.ok) {
        expect(view(oracle), JSON.stringify(context)).toEqual(view(walk));
        counts.accepted!++;
      } else if (!oracle.ok && (walk.reason === oracle.reason || stricterCase(walk))) {
        counts.refusedByBoth!++;
      } else {
        const stricter = stricterCase(walk);
        expect(stricter, `${walk.message}: ${JSON.stringify(context)}`).toBeDefined();
        counts[stricter!] = (counts[stricter!] ?? 0) + 1;
      }
    }
    console.log('mutations:', counts);
    // The mutations reach both sides of the line.
    expect(counts.accepted).toBeGreaterThan(1000);
    expect(counts.refusedByBoth).toBeGreaterThan(1000);
  });
});
