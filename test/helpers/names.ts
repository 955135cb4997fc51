// Names no other test uses.
import { randomUUID } from 'node:crypto';

let counter = 0;

/** `prefix-N-xxxxxxxx`: letters, digits and '-' only, so that it satisfies every name pattern. */
export const uniq = (prefix: string) => `${prefix}-${++counter}-${randomUUID().slice(0, 8)}`;
