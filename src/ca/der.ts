/**
 * The DER (X.690 section 10) that an X.509 certificate needs: a writer for a
 * dozen universal types and context tags, and a reader just deep enough to
 * walk an existing certificate. Each writer returns a whole tag-length-value;
 * constructed types take their children already encoded.
 */

const SEQUENCE = 0x30;
const SET = 0x31;
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OBJECT_IDENTIFIER = 0x06;
const UTF8_STRING = 0x0c;
const PRINTABLE_STRING = 0x13;
const IA5_STRING = 0x16;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const CONTEXT = 0x80;
const CONSTRUCTED = 0x20;

/** X.680 section 41.4: the only characters a PrintableString may hold. */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export function tlv(tag: number, content: Uint8Array): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) {
    header = Buffer.from([tag, length]);
  } else {
    // Long form: the fewest big-endian bytes that hold the length.
    const bytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}

export function sequence(...children: Uint8Array[]): Buffer {
  return tlv(SEQUENCE, Buffer.concat(children));
}

/** A SET OF: DER orders the encoded elements as ascending byte strings (X.690 11.6). */
export function set(...children: Uint8Array[]): Buffer {
  return tlv(SET, Buffer.concat([...children].sort((a, b) => Buffer.compare(a, b))));
}

export function boolean(value: boolean): Buffer {
  return tlv(BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
}

/**
 * A non-negative INTEGER from its unsigned big-endian bytes: redundant
 * leading zeros go, and one is added where the top bit would read as a sign.
 */
export function integer(unsigned: Uint8Array): Buffer {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start += 1;
  const bytes = Buffer.from(unsigned.subarray(start));
  if (bytes.length === 0) return tlv(INTEGER, Buffer.from([0]));
  const signBit = ((bytes[0] as number) & 0x80) !== 0;
  return tlv(INTEGER, signBit ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

export function smallInteger(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`bad INTEGER ${value}`);
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return integer(Uint8Array.from(bytes));
}

/** An OBJECT IDENTIFIER from dotted text (X.690 8.19): base-128 arcs, the first two merged. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first, second, ...rest] = arcs;
  if (
    first === undefined ||
    second === undefined ||
    !arcs.every((arc) => Number.isSafeInteger(arc) && arc >= 0) ||
    first > 2 ||
    (first < 2 && second > 39)
  ) {
    throw new RangeError(`bad OID ${dotted}`);
  }
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const group = [arc % 128];
    for (let high = Math.floor(arc / 128); high > 0; high = Math.floor(high / 128)) {
      group.unshift(0x80 | (high % 128));
    }
    bytes.push(...group);
  }
  return tlv(OBJECT_IDENTIFIER, Uint8Array.from(bytes));
}

export function isPrintable(text: string): boolean {
  return PRINTABLE.test(text);
}

export function printableString(text: string): Buffer {
  if (!isPrintable(text)) throw new RangeError(`not a PrintableString: ${JSON.stringify(text)}`);
  return tlv(PRINTABLE_STRING, Buffer.from(text, 'latin1'));
}

export function utf8String(text: string): Buffer {
  return tlv(UTF8_STRING, Buffer.from(text, 'utf8'));
}

export function ia5String(text: string): Buffer {
  // IA5 is 7-bit ASCII, controls included.
  if (!/^[\x00-\x7f]*$/.test(text)) throw new RangeError(`not an IA5String: ${text}`);
  return tlv(IA5_STRING, Buffer.from(text, 'latin1'));
}

/**
 * A certificate validity time as RFC 5280 section 4.1.2.5 wants it: UTCTime
 * through 2049, GeneralizedTime from 2050, in whole seconds of UTC with a Z.
 */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (!Number.isFinite(year) || year < 0 || year > 9999) throw new RangeError('bad date');
  const two = (n: number) => String(n).padStart(2, '0');
  const rest =
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds()) +
    'Z';
  if (year >= 1950 && year <= 2049) {
    return tlv(UTC_TIME, Buffer.from(two(year % 100) + rest, 'latin1'));
  }
  return tlv(GENERALIZED_TIME, Buffer.from(String(year).padStart(4, '0') + rest, 'latin1'));
}

export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new RangeError(`bad unused bit count ${unusedBits}`);
  }
  return tlv(BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/**
 * A named BIT STRING (such as KeyUsage) with the given bits set, bit 0 being
 * the top bit of the first byte. DER drops trailing zero bits (X.690 11.2.2).
 */
export function namedBits(positions: readonly number[]): Buffer {
  if (!positions.every((bit) => Number.isInteger(bit) && bit >= 0 && bit < 64)) {
    throw new RangeError(`bad bit positions ${positions.join(',')}`);
  }
  if (positions.length === 0) return bitString(Buffer.alloc(0));
  const highest = Math.max(...positions);
  const bytes = Buffer.alloc((highest >> 3) + 1);
  for (const bit of positions) bytes[bit >> 3] = (bytes[bit >> 3] as number) | (0x80 >> (bit & 7));
  return bitString(bytes, 7 - (highest & 7));
}

export function octetString(bytes: Uint8Array): Buffer {
  return tlv(OCTET_STRING, bytes);
}

/** `[n] EXPLICIT`: a constructed context tag wrapping a whole element. */
export function explicit(n: number, element: Uint8Array): Buffer {
  return tlv(contextTag(n) | CONSTRUCTED, element);
}

/** `[n] IMPLICIT`: the context tag replaces the element's own, keeping its contents. */
export function implicit(n: number, element: Buffer): Buffer {
  const { tag, content } = readElement(element);
  return tlv(contextTag(n) | (tag & CONSTRUCTED), content);
}

function contextTag(n: number): number {
  // Tag numbers past 30 need the multi-byte form, which certificates never use.
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError(`bad context tag ${n}`);
  return CONTEXT | n;
}

/** One element read from DER: its tag, its whole encoding and its contents. */
export interface Element {
  tag: number;
  raw: Buffer;
  content: Buffer;
}

export const Tags = {
  SEQUENCE,
  SET,
  BOOLEAN,
  INTEGER,
  BIT_STRING,
  OCTET_STRING,
  OBJECT_IDENTIFIER,
} as const;

/** Reads the element starting at `offset`. Throws on anything truncated or not DER-shaped. */
export function readElement(data: Buffer, offset = 0): Element {
  const tag = data[offset];
  const first = data[offset + 1];
  if (tag === undefined || first === undefined) throw new Error('DER: truncated header');
  if ((tag & 0x1f) === 0x1f) throw new Error('DER: multi-byte tags are not supported');
  let length = first;
  let headerLength = 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    // 0x80 is BER's indefinite length, which DER forbids; four bytes is plenty.
    if (count === 0 || count > 4) throw new Error('DER: bad length');
    length = 0;
    for (let i = 0; i < count; i += 1) {
      const byte = data[offset + 2 + i];
      if (byte === undefined) throw new Error('DER: truncated length');
      length = length * 256 + byte;
    }
    headerLength += count;
  }
  const end = offset + headerLength + length;
  if (end > data.length) throw new Error('DER: element runs past its container');
  return {
    tag,
    raw: data.subarray(offset, end),
    content: data.subarray(offset + headerLength, end),
  };
}

/** The elements of a constructed element's contents, in order. */
export function readChildren(parent: Element): Element[] {
  if ((parent.tag & CONSTRUCTED) === 0) throw new Error('DER: not a constructed element');
  const children: Element[] = [];
  for (let offset = 0; offset < parent.content.length;) {
    const child = readElement(parent.content, offset);
    children.push(child);
    offset += child.raw.length;
  }
  return children;
}

/** Like readElement, but insists on the tag and on nothing trailing. */
export function readOnly(data: Buffer, tag: number): Element {
  const element = readElement(data);
  if (element.tag !== tag) throw new Error(`DER: expected tag 0x${tag.toString(16)}`);
  if (element.raw.length !== data.length) throw new Error('DER: trailing bytes');
  return element;
}
