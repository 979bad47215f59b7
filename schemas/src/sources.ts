import { readFileSync } from 'node:fs';

/**
 * The text of every .proto file, keyed by its import path (for example
 * "vigil/process/v1/process.proto"). The schema registry stores this text, and the wire codec
 * derives message indexes from it, so what is registered and what is framed cannot disagree.
 */
export const PROTO_SOURCES: Readonly<Record<string, string>> = Object.freeze(
  JSON.parse(readFileSync(new URL('../gen/sources.json', import.meta.url), 'utf8')) as Record<
    string,
    string
  >,
);
