import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { sampleEvents } from '@vigil/pipeline/testing';
import { familyByName } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';
import { describe, expect, it } from 'vitest';
import { decodeMessage, DecodeError, encodeTransport, MAX_DATAGRAM_BYTES } from './decode.js';

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
