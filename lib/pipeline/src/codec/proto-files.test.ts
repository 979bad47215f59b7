import { describe, expect, it } from 'vitest';
import { FAMILIES } from '@vigil/schemas/families';
import { locateMessage, messageAt } from './proto-files.js';
import { staticType } from './static-types.js';

describe('message locations', () => {
  it('puts every family record type first in its file, so it frames as [0]', () => {
    for (const family of FAMILIES) {
      expect(locateMessage(family.recordType)).toEqual({
        protoFile: family.protoFile,
        packageName: family.recordType.slice(0, family.recordType.lastIndexOf('.')),
        messageIndexes: [0],
      });
    }
  });

  it('counts messages only, in declaration order', () => {
    // process.proto: ProcessEvent, ProcessStart, Job, EnvironmentVariable, ...
    expect(locateMessage('vigil.process.v1.ProcessStart')?.messageIndexes).toEqual([1]);
    expect(locateMessage('vigil.process.v1.Job')?.messageIndexes).toEqual([2]);
    // session.proto declares the enum EndReason between Dropped and SessionEnd: it does not count.
    const dropped = locateMessage('vigil.session.v1.Dropped')!.messageIndexes[0]!;
    expect(locateMessage('vigil.session.v1.SessionEnd')?.messageIndexes).toEqual([dropped + 1]);
  });

  it('maps every location back to the same type, and every type has generated code', () => {
    for (const typeName of [
      'vigil.status.v1.StateChange',
      'vigil.alert.v1.Notification',
      'vigil.envelope.v1.Signature',
    ]) {
      const location = locateMessage(typeName)!;
      expect(messageAt(location.protoFile, location.messageIndexes)).toBe(typeName);
      expect(staticType(typeName)).toBeDefined();
    }
  });

  it('finds nested messages (map entries are not messages in the schema text)', () => {
    expect(messageAt('vigil/alert/v1/alert.proto', [99])).toBeUndefined();
    expect(messageAt('vigil/alert/v1/alert.proto', [0, 0])).toBeUndefined();
    expect(messageAt('no/such/file.proto', [0])).toBeUndefined();
  });
});
