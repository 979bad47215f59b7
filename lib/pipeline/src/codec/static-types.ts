import { vigil } from '@vigil/schemas/gen';

const generated: Record<string, unknown> = { vigil };

/** The part of a generated protobufjs class the codec uses. */
export interface MessageClass {
  encode(message: object): { finish(): Uint8Array };
  decode(bytes: Uint8Array): object;
  verify(message: object): string | null;
  create(properties?: object): object;
}

/** The generated class of a fully qualified type, or undefined when there is none. */
export function staticType(typeName: string): MessageClass | undefined {
  let node: unknown = generated;
  for (const part of typeName.split('.')) {
    if (!node || (typeof node !== 'object' && typeof node !== 'function')) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  const candidate = node as Partial<MessageClass> | undefined;
  return typeof candidate?.decode === 'function' && typeof candidate.encode === 'function'
    ? (candidate as MessageClass)
    : undefined;
}
