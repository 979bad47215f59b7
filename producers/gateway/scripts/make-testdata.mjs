// Writes testdata/datagrams.json: one valid node transport message per family plus malformed ones.
// Run once after a schema change: node scripts/make-testdata.mjs (after npm run build).
import { writeFileSync } from 'node:fs';
import { sampleEvents } from '@vigil/pipeline/testing';
import { familyByName } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';
import { encodeTransport } from '../dist/decode.js';

const cases = [];
for (const event of sampleEvents()) {
  const family = familyByName(event.family);
  const type = event.typeName.split('.').reduce((node, part) => node[part], { vigil });
  const value = type.encode(event.message).finish();
  cases.push({
    name: `valid ${event.family}`,
    hex: encodeTransport(family, value).toString('hex'),
    accept: event.family,
  });
}
const process = Buffer.from(cases[cases.findIndex((c) => c.accept === 'process')].hex, 'hex');
cases.push({ name: 'empty', hex: '', reason: 'too_short' });
cases.push({ name: 'header only', hex: '56470101', reason: 'too_short' });
cases.push({
  name: 'bad magic',
  hex: Buffer.concat([Buffer.from('5848', 'hex'), process.subarray(2)]).toString('hex'),
  reason: 'bad_magic',
});
cases.push({
  name: 'transport version 2',
  hex: Buffer.concat([Buffer.from('564702', 'hex'), process.subarray(3)]).toString('hex'),
  reason: 'bad_version',
});
cases.push({
  name: 'family byte 0',
  hex: Buffer.concat([Buffer.from('56470100', 'hex'), process.subarray(4)]).toString('hex'),
  reason: 'unknown_family',
});
cases.push({
  name: 'family byte 200',
  hex: Buffer.concat([Buffer.from('564701c8', 'hex'), process.subarray(4)]).toString('hex'),
  reason: 'unknown_family',
});
cases.push({
  name: 'truncated record',
  hex: process.subarray(0, Math.floor(process.length / 2)).toString('hex'),
  reason: 'bad_record',
});
cases.push({ name: 'record without envelope', hex: '564701011200', reason: 'no_event_id' });
cases.push({
  name: 'random bytes after a good header',
  hex: '56470101ffffffffffffffffff0a',
  reason: 'bad_record',
});
writeFileSync(
  new URL('../testdata/datagrams.json', import.meta.url),
  `${JSON.stringify(cases, null, 2)}\n`,
);
console.log(`wrote ${cases.length} cases`);
