import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/** Why an address is refused; `ok` when it may receive a credential. */
export type AddressVerdict = 'ok' | 'metadata' | 'private';

/**
 * Cloud metadata services and link-local ranges: never a destination for a
 * credential, whatever the config says (instance credentials live there).
 */
const METADATA = new BlockList();
METADATA.addSubnet('169.254.0.0', 16, 'ipv4');
METADATA.addAddress('fd00:ec2::254', 'ipv6');
METADATA.addSubnet('fe80::', 10, 'ipv6');

/** Addresses that are not the public internet: refused unless the config allows them. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3], // multicast and reserved
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
PRIVATE.addAddress('::', 'ipv6');
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('ff00::', 8, 'ipv6');

/**
 * The IPv4 address inside an IPv6 one that embeds it (mapped ::ffff:a.b.c.d,
 * compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16), so that
 * `::ffff:169.254.169.254` is judged as what it reaches.
 */
export function embeddedIPv4(address: string): string | undefined {
  const groups = expandIPv6(address);
  if (!groups) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  if (zeros(0, 5) && (groups[5] === 0xffff || groups[5] === 0) && !zeros(6, 8)) {
    return v4(groups[6] as number, groups[7] as number);
  }
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) {
    return v4(groups[6] as number, groups[7] as number);
  }
  if (groups[0] === 0x2002) return v4(groups[1] as number, groups[2] as number);
  return undefined;
}

/** Eight 16-bit groups, or undefined when this is not an IPv6 address. */
function expandIPv6(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1, 5).map(Number) as [number, number, number, number];
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    text = `${text.slice(0, dotted.index)}${hex(a, b)}:${hex(c, d)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...new Array<number>(fill).fill(0), ...right];
}

/**
 * Decides which addresses may receive a credential. `allowed` lists networks
 * the config opens for local development (`egress.allow`), and addresses
 * named by `resolve:` entries are allowed too, being the user's own choice.
 * Metadata addresses are refused even then.
 */
export class EgressGuard {
  readonly #allowed = new BlockList();
  readonly #resolve: typeof dnsLookup;

  /** `resolve` is the system resolver; tests pass one whose answers change. */
  constructor(allowed: readonly string[] = [], resolve: typeof dnsLookup = dnsLookup) {
    for (const entry of allowed) addNetwork(this.#allowed, entry);
    this.#resolve = resolve;
  }

  judge(address: string): AddressVerdict {
    const family = isIP(address);
    if (family === 0) return 'private';
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const inner = family === 6 ? embeddedIPv4(address) : undefined;
    if (METADATA.check(address, type) || (inner && METADATA.check(inner, 'ipv4'))) {
      return 'metadata';
    }
    if (this.#allowed.check(address, type) || (inner && this.#allowed.check(inner, 'ipv4'))) {
      return 'ok';
    }
    if (PRIVATE.check(address, type) || (inner && PRIVATE.check(inner, 'ipv4'))) {
      return 'private';
    }
    return 'ok';
  }

  /**
   * A `lookup` for node:net that resolves once, refuses the whole answer if
   * any address is refused, and hands the connection the address it checked,
   * so a second DNS answer (rebinding) never decides where the bytes go.
   */
  lookup(): typeof dnsLookup {
    const guarded = (
      hostname: string,
      options: unknown,
      callback: (
        error: NodeJS.ErrnoException | null,
        address: string | LookupAddress[],
        family?: number,
      ) => void,
    ) => {
      this.#resolve(hostname, { all: true }, (error, addresses) => {
        if (error) return callback(error, '', 0);
        const refused = addresses.find((entry) => this.judge(entry.address) !== 'ok');
        if (refused)
          return callback(destinationRefused(hostname, this.judge(refused.address)), '', 0);
        const chosen = addresses[0] as LookupAddress;
        if ((options as { all?: boolean } | undefined)?.all) return callback(null, [chosen]);
        callback(null, chosen.address, chosen.family);
      });
    };
    return guarded as unknown as typeof dnsLookup;
  }
}

export function destinationRefused(host: string, verdict: AddressVerdict): NodeJS.ErrnoException {
  const what =
    verdict === 'metadata'
      ? 'a cloud metadata or link-local address'
      : 'a private or loopback address';
  return Object.assign(new Error(`${host} resolves to ${what}`), {
    code: 'GRANTD_DESTINATION_REFUSED',
  });
}

function addNetwork(list: BlockList, entry: string): void {
  const [net, bits] = entry.split('/') as [string, string | undefined];
  const family = isIP(net);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (bits === undefined) list.addAddress(net, type);
  else list.addSubnet(net, Number(bits), type);
}

/** Whether `entry` is an address or CIDR network the guard can use (for config checks). */
export function isNetwork(entry: string): boolean {
  const [net, bits] = entry.split('/') as [string, string | undefined];
  const family = isIP(net);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}
