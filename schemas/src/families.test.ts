import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { vigil } from '@vigil/schemas/gen';
import { FAMILIES, familyByName, familyByTransportId } from './families.js';
import { PROTO_SOURCES } from './sources.js';

describe('the family catalogue', () => {
  it('names a topic with the major version, a file and a record type that exist', () => {
    for (const family of FAMILIES) {
      expect(family.topic).toBe(`vigil.${family.name}.v1`);
      const source = PROTO_SOURCES[family.protoFile];
      expect(source, family.protoFile).toBeDefined();
      // The record type must be the first message of its file: it frames as message index [0].
      const firstMessage = /^message\s+(\w+)/m.exec(source!)?.[1];
      expect(`vigil.${family.name}.v1.${firstMessage}`).toBe(family.recordType);
      expect(source).toMatch(/vigil\.envelope\.v1\.Envelope envelope = 1;/);
    }
  });

  it('keeps transport bytes unique and resolvable', () => {
    const ids = FAMILIES.map((f) => f.transportId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const family of FAMILIES) expect(familyByTransportId(family.transportId)).toBe(family);
    expect(familyByTransportId(0)).toBeUndefined();
    expect(familyByTransportId(255)).toBeUndefined();
    expect(() => familyByName('nope' as never)).toThrow(TypeError);
  });

  it('compacts only the watermark registry', () => {
    expect(FAMILIES.filter((f) => f.cleanupPolicy === 'compact').map((f) => f.name)).toEqual([
      'watermark',
    ]);
  });

  it('ships the proto sources it was generated from', () => {
    const onDisk = readFileSync(
      new URL('../proto/vigil/process/v1/process.proto', import.meta.url),
      'utf8',
    );
    expect(PROTO_SOURCES['vigil/process/v1/process.proto']).toBe(onDisk);
  });

  it('declares paths, argv and terminal data as bytes, times as 64-bit', () => {
    const start = vigil.process.v1.ProcessStart.decode(
      vigil.process.v1.ProcessStart.encode({
        executable: Buffer.from([0xff, 0xfe]),
        argv: [Buffer.from([0x80])],
      }).finish(),
    );
    expect(Buffer.from(start.executable)).toEqual(Buffer.from([0xff, 0xfe]));
    expect(Buffer.from(start.argv[0]!)).toEqual(Buffer.from([0x80]));
    const envelope = vigil.envelope.v1.Envelope.decode(
      vigil.envelope.v1.Envelope.encode({ timeUnixNano: '1790000000123456789' as never }).finish(),
    );
    expect(envelope.timeUnixNano.toString()).toBe('1790000000123456789');
  });
});
