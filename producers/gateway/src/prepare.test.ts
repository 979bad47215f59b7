import { familyByName } from '@vigil/schemas/families';
import { describe, expect, it } from 'vitest';
import { encodeTransport } from './decode.js';
import { BatchBuilder } from './prepare.js';
import { decodeSpoolPayload } from './spool.js';
import { processDatagram } from './testkit.js';

/** The records of a prepared batch, decoded back. */
function recordsOf(records: ArrayBuffer) {
  const bytes = Buffer.from(records);
  const out = [];
  for (let o = 0; o < bytes.length;) {
    const length = bytes.readUInt32BE(o);
    out.push(decodeSpoolPayload(bytes.subarray(o + 8, o + 8 + length))!);
    o += 8 + length;
  }
  return out;
}

describe('BatchBuilder', () => {
  it('lays accepted messages out as spool records and counts the refused by reason', () => {
    const batch = new BatchBuilder(64);
    const good = [1, 2, 3].map((i) => processDatagram(i, 'prep'));
    batch.add(good[0]!.bytes, 'udp:10.0.0.1:1', 1000.5, 65_507);
    batch.add(Buffer.from('not a message'), 'udp:10.0.0.2:2', 1001, 65_507);
    batch.add(good[1]!.bytes, 'udp:10.0.0.1:1', 1002, 65_507);
    batch.add(
      encodeTransport(familyByName('process'), Buffer.from([0xff])),
      'udp:10.0.0.3:3',
      1003,
      65_507,
    );
    batch.add(Buffer.from('still not'), 'udp:10.0.0.4:4', 1004, 65_507);
    batch.add(good[2]!.bytes, 'udp:10.0.0.1:1', 1005, 100); // over the size limit
    const taken = batch.take();
    expect(taken.received).toBe(6);
    expect(taken.receivedBytes).toBe(good.reduce((n, d) => n + d.bytes.length, 0) + 13 + 5 + 9);
    const records = recordsOf(taken.records);
    expect(records.map((r) => [r.peer, r.receivedAtMs, r.key])).toEqual([
      ['udp:10.0.0.1:1', 1000.5, `node001.cluster/preload/prep/1`],
      ['udp:10.0.0.1:1', 1002, `node001.cluster/preload/prep/2`],
    ]);
    expect(Buffer.from(records[0]!.value)).toEqual(good[0]!.bytes.subarray(4));
    expect(taken.problems.map((p) => [p.reason, p.count, p.peer]).sort()).toEqual([
      ['bad_magic', 2, 'udp:10.0.0.4:4'],
      ['bad_record', 1, 'udp:10.0.0.3:3'],
      ['too_large', 1, 'udp:10.0.0.1:1'],
    ]);
  });

  it('grows past its first buffer and starts over after take', () => {
    const batch = new BatchBuilder(16);
    for (let i = 0; i < 100; i++) batch.add(processDatagram(i, 'grow').bytes, 'udp:x:1', i, 65_507);
    const first = batch.take();
    expect(recordsOf(first.records).map((r) => r.receivedAtMs)).toEqual([...Array(100).keys()]);
    expect(batch.empty).toBe(true);
    expect(batch.bytes).toBe(0);
    batch.add(processDatagram(7, 'grow').bytes, 'udp:x:1', 7, 65_507);
    const second = batch.take();
    expect(second.received).toBe(1);
    expect(second.problems).toEqual([]);
    expect(recordsOf(second.records)).toHaveLength(1);
  });
});
