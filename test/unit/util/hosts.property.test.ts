import { domainToUnicode } from 'node:url';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { hostPatterns, matchesHost } from '../../../src/providers/host-pattern.js';
import { canonicalHost } from '../../../src/util/hosts.js';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const hostName = fc
  .array(label, { minLength: 2, maxLength: 4 })
  .map((labels) => labels.join('.'))
  // A last label of digits makes the URL host parser read an IPv4 address, and
  // `xn--` style labels must be valid punycode: both are covered elsewhere.
  .filter((host) => /[a-z]/.test(host.split('.').at(-1) ?? '') && !/(^|\.)..--/.test(host));

/** The same name with random upper-case letters. */
function withCase(host: string, flips: boolean[]): string {
  return [...host].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join('');
}

describe('host canonicalisation, over generated spellings', () => {
  it('maps any mix of case and a trailing dot to one name', () => {
    fc.assert(
      fc.property(
        hostName,
        fc.array(fc.boolean(), { minLength: 1 }),
        fc.boolean(),
        (host, flips, dot) => {
          const spelled = `${withCase(host, flips)}${dot ? '.' : ''}`;
          expect(canonicalHost(spelled)).toBe(host);
        },
      ),
    );
  });

  it('maps an international name and its punycode to one name', () => {
    const unicodeLabel = fc.stringMatching(/^[a-zäöüßéñçøåæ]{1,8}$/);
    fc.assert(
      fc.property(fc.array(unicodeLabel, { minLength: 1, maxLength: 3 }), (labels) => {
        const unicode = `${labels.join('.')}.example`;
        const ascii = canonicalHost(unicode);
        expect(ascii).toBeDefined();
        expect(ascii).toMatch(/^[a-z0-9.-]+$/);
        expect(canonicalHost(domainToUnicode(ascii as string))).toBe(ascii);
        expect(canonicalHost(`${(ascii as string).toUpperCase()}.`)).toBe(ascii);
      }),
    );
  });

  it('maps every way of writing an IPv4 address to its dotted form', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
        (parts) => {
          const dotted = parts.join('.');
          const number = parts.reduce((n, p) => n * 256 + p, 0);
          const spellings = [
            String(number),
            `0x${number.toString(16)}`,
            parts.map((p) => `0${p.toString(8)}`).join('.'),
            parts.map((p) => `0x${p.toString(16)}`).join('.'),
            `${parts[0]}.${(parts[1] as number) * 65536 + (parts[2] as number) * 256 + (parts[3] as number)}`,
            `${dotted}.`,
          ];
          for (const spelled of spellings) expect(canonicalHost(spelled), spelled).toBe(dotted);
        },
      ),
    );
  });

  it('maps bracketed and upper-case IPv6 to one form', () => {
    fc.assert(
      fc.property(fc.ipV6(), (address) => {
        const plain = canonicalHost(address);
        expect(plain).toBeDefined();
        expect(canonicalHost(`[${address.toUpperCase()}]`)).toBe(plain);
      }),
    );
  });

  it('never lets a spelling of another host match a provider pattern', () => {
    const patterns = hostPatterns(['api.openai.com', '*.my.salesforce.com'], {});
    fc.assert(
      fc.property(hostName, fc.array(fc.boolean(), { minLength: 1 }), (host, flips) => {
        for (const spelled of [
          `api.openai.com.${host}`,
          `${host}.api.openai.com.evil`,
          `api-openai.com.${host}`,
          `my.salesforce.com.${host}`,
          `${host}my.salesforce.com`,
        ]) {
          const canonical = canonicalHost(withCase(spelled, flips));
          if (canonical !== undefined)
            expect(matchesHost(canonical, patterns), spelled).toBe(false);
        }
        const allowed = canonicalHost(withCase(`${host}.my.salesforce.com.`, flips));
        expect(allowed !== undefined && matchesHost(allowed, patterns)).toBe(true);
      }),
    );
  });

  it('refuses names with delimiters or percent signs instead of guessing', () => {
    fc.assert(
      fc.property(
        hostName,
        fc.constantFrom('/', '\\', '?', '#', '@', '%2e', ' ', ':x'),
        (host, junk) => {
          expect(canonicalHost(`${host}${junk}evil.test`)).toBeUndefined();
        },
      ),
    );
  });
});
