import { describe, expect, it } from 'vitest';
import { CodecError } from './errors.js';
import { readVerifyHeader, VERIFY_HEADER } from './verify-header.js';

describe('readVerifyHeader', () => {
  it('reads what verify writes', () => {
    const header = {
      signature: 'valid',
      keyId: 'site-2026',
      watermarks: [{ path: '/bin/x', status: 'unsigned' }],
    };
    expect(readVerifyHeader({ [VERIFY_HEADER]: JSON.stringify(header) })).toEqual(header);
  });

  it('is undefined without the header', () => {
    expect(readVerifyHeader({ other: '1' })).toBeUndefined();
  });

  it.each(['{not json', '"a string"', '[1]', 'null'])('rejects %s with a typed error', (text) => {
    expect(() => readVerifyHeader({ [VERIFY_HEADER]: text })).toThrow(CodecError);
  });
});
