import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  bitString,
  boolean,
  explicit,
  ia5String,
  implicit,
  integer,
  namedBits,
  octetString,
  oid,
  printableString,
  readChildren,
  readElement,
  readOnly,
  sequence,
  set,
  smallInteger,
  time,
  tlv,
  utf8String,
} from '../../../src/ca/der.js';
import { ipAddressBytes } from '../../../src/ca/x509.js';

const hex = (bytes: Buffer) => bytes.toString('hex');
const bytesOf = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('DER writer', () => {
  it('uses the short length form below 128 and the fewest long-form bytes above', () => {
    expect(hex(octetString(Buffer.alloc(127)).subarray(0, 2))).toBe('047f');
    expect(hex(octetString(Buffer.alloc(128)).subarray(0, 3))).toBe('048180');
    expect(hex(octetString(Buffer.alloc(255)).subarray(0, 3))).toBe('0481ff');
    expect(hex(octetString(Buffer.alloc(256)).subarray(0, 4))).toBe('04820100');
    expect(hex(octetString(Buffer.alloc(70_000)).subarray(0, 5))).toBe('0483011170');
  });

  it('encodes INTEGERs minimally, with a zero byte only where the top bit is set', () => {
    expect(hex(integer(bytesOf('00')))).toBe('020100');
    expect(hex(integer(bytesOf('000000')))).toBe('020100');
    expect(hex(integer(bytesOf('7f')))).toBe('02017f');
    expect(hex(integer(bytesOf('80')))).toBe('02020080');
    expect(hex(integer(bytesOf('0080')))).toBe('02020080');
    expect(hex(integer(bytesOf('00007f01')))).toBe('02027f01');
    expect(hex(integer(Buffer.alloc(0)))).toBe('020100');
    expect(hex(smallInteger(0))).toBe('020100');
    expect(hex(smallInteger(2))).toBe('020102');
    expect(hex(smallInteger(128))).toBe('02020080');
    expect(hex(smallInteger(65_537))).toBe('0203010001');
    expect(() => smallInteger(-1)).toThrow(RangeError);
  });

  it('round-trips any unsigned INTEGER as a positive, minimal two-complement value', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const { content } = readOnly(integer(bytes), 0x02);
        const value = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
        expect(BigInt(`0x${content.toString('hex')}`)).toBe(value);
        // Positive: no sign bit; minimal: no redundant leading zero.
        expect((content[0] as number) & 0x80).toBe(0);
        if (content.length > 1)
          expect(content[0] !== 0 || (content[1] as number) >= 0x80).toBe(true);
      }),
    );
  });

  it('encodes OBJECT IDENTIFIERs with merged first arcs and base-128 arcs', () => {
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(oid('2.5.29.19'))).toBe('0603551d13');
    expect(hex(oid('1.3.6.1.5.5.7.3.1'))).toBe('06082b06010505070301');
    expect(hex(oid('2.999.3'))).toBe('0603883703');
    expect(() => oid('1.40')).toThrow(RangeError);
    expect(() => oid('3.1')).toThrow(RangeError);
    expect(() => oid('1')).toThrow(RangeError);
    expect(() => oid('1.2.x')).toThrow(RangeError);
  });

  it('writes strings, booleans, bit and octet strings', () => {
    expect(hex(printableString('grantd'))).toBe('1306' + Buffer.from('grantd').toString('hex'));
    expect(() => printableString('under_score')).toThrow(RangeError);
    expect(hex(utf8String('é'))).toBe('0c02c3a9');
    expect(hex(ia5String('a.test'))).toBe('1606' + Buffer.from('a.test').toString('hex'));
    expect(() => ia5String('é.test')).toThrow(RangeError);
    expect(hex(boolean(true))).toBe('0101ff');
    expect(hex(boolean(false))).toBe('010100');
    expect(hex(bitString(bytesOf('0102')))).toBe('0303000102');
    expect(() => bitString(Buffer.alloc(0), 1)).toThrow(RangeError);
  });

  it('drops trailing zero bits of a named bit string (KeyUsage)', () => {
    expect(hex(namedBits([0]))).toBe('03020780'); // digitalSignature
    expect(hex(namedBits([5, 6]))).toBe('03020106'); // keyCertSign | cRLSign
    expect(hex(namedBits([0, 2]))).toBe('030205a0');
    expect(hex(namedBits([7]))).toBe('03020001');
    expect(hex(namedBits([8]))).toBe('0303070080'); // decipherOnly
    expect(hex(namedBits([]))).toBe('030100');
  });

  it('switches from UTCTime to GeneralizedTime in 2050, in whole UTC seconds', () => {
    const text = (date: string) => readElement(time(new Date(date))).content.toString('latin1');
    expect(time(new Date('2049-12-31T23:59:59.999Z'))[0]).toBe(0x17);
    expect(text('2049-12-31T23:59:59.999Z')).toBe('491231235959Z');
    expect(text('2026-01-02T03:04:05Z')).toBe('260102030405Z');
    expect(time(new Date('2050-01-01T00:00:00Z'))[0]).toBe(0x18);
    expect(text('2050-01-01T00:00:00Z')).toBe('20500101000000Z');
    expect(text('1949-12-31T23:59:59Z')).toBe('19491231235959Z');
    expect(text('1950-01-01T00:00:00Z')).toBe('500101000000Z');
    expect(() => time(new Date(Number.NaN))).toThrow(RangeError);
  });

  it('sorts SET OF members and wraps context tags', () => {
    expect(hex(set(bytesOf('0201 02'), bytesOf('0201 01')))).toBe('3106020101020102');
    expect(hex(sequence(bytesOf('0201 02'), bytesOf('0201 01')))).toBe('3006020102020101');
    expect(hex(explicit(0, smallInteger(2)))).toBe('a003020102');
    expect(hex(explicit(3, sequence()))).toBe('a3023000');
    expect(hex(implicit(2, ia5String('a')))).toBe('820161');
    expect(hex(implicit(7, octetString(bytesOf('7f000001'))))).toBe('87047f000001');
    expect(hex(implicit(1, sequence(boolean(true))))).toBe('a1030101ff');
  });
});

describe('DER reader', () => {
  it('walks nested elements', () => {
    const der = sequence(smallInteger(5), sequence(octetString(Buffer.alloc(300))), boolean(true));
    const [a, b, c] = readChildren(readOnly(der, 0x30));
    expect(a?.content).toEqual(Buffer.from([5]));
    expect(readChildren(b!)[0]?.content.length).toBe(300);
    expect(c?.tag).toBe(0x01);
  });

  it('refuses truncated, indefinite-length and trailing input', () => {
    expect(() => readElement(Buffer.from([0x30]))).toThrow(/truncated/);
    expect(() => readElement(bytesOf('3005 0201'))).toThrow(/past/);
    expect(() => readElement(bytesOf('3080 0000'))).toThrow(/length/);
    expect(() => readElement(bytesOf('3f01 00'))).toThrow(/multi-byte/);
    expect(() => readOnly(bytesOf('0500 00'), 0x05)).toThrow(/trailing/);
    expect(() => readOnly(bytesOf('0500'), 0x30)).toThrow(/expected/);
    expect(() => readChildren(readElement(bytesOf('0401 00')))).toThrow(/constructed/);
  });

  it('reads back any length the writer writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70_000 }), (length) => {
        const content = Buffer.alloc(length, 7);
        expect(readOnly(tlv(0x04, content), 0x04).content.equals(content)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});

describe('ipAddressBytes', () => {
  it('gives 4 bytes for IPv4 and 16 for every IPv6 spelling', () => {
    expect(hex(ipAddressBytes('127.0.0.2'))).toBe('7f000002');
    expect(hex(ipAddressBytes('::1'))).toBe('00000000000000000000000000000001');
    expect(hex(ipAddressBytes('::'))).toBe('00000000000000000000000000000000');
    expect(hex(ipAddressBytes('1::'))).toBe('00010000000000000000000000000000');
    expect(hex(ipAddressBytes('2001:db8::8:800:200c:417a'))).toBe(
      '20010db80000000000080800200c417a',
    );
    expect(hex(ipAddressBytes('::ffff:192.0.2.1'))).toBe('00000000000000000000ffffc0000201');
    expect(hex(ipAddressBytes('::192.0.2.1'))).toBe('000000000000000000000000c0000201');
    expect(hex(ipAddressBytes('1:2:3:4:5:6:7:8'))).toBe('00010002000300040005000600070008');
    expect(hex(ipAddressBytes('fe80::1%eth0'))).toBe('fe800000000000000000000000000001');
    expect(() => ipAddressBytes('example.test')).toThrow(RangeError);
  });

  it('agrees with the WHATWG URL parser on random IPv6 addresses', () => {
    // Zero groups are common so that the compressed spellings get their :: runs.
    const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.boolean(),
        (groups, dotted) => {
          const bytes = Buffer.alloc(16);
          groups.forEach((g, i) => bytes.writeUInt16BE(g, i * 2));
          const words = groups.map((g) => g.toString(16));
          const full = dotted
            ? `${words.slice(0, 6).join(':')}:${[...bytes.subarray(12)].join('.')}`
            : words.join(':');
          // The URL parser writes the RFC 5952 form, with :: for the longest zero run.
          const compressed = new URL(`http://[${full}]/`).hostname.slice(1, -1);
          expect(ipAddressBytes(full)).toEqual(bytes);
          expect(ipAddressBytes(compressed)).toEqual(bytes);
        },
      ),
    );
  });
});
