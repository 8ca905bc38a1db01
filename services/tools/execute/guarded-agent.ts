import { promises as dns } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Agent } from 'undici';
import { addressError, listedAddresses, type AllowedBase } from './allow-list.js';

/** Every address a host name resolves to (the system resolver by default; tests pass their own). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * An undici dispatcher whose sockets only reach addresses that passed the address rule. The check
 * runs inside the connection's own DNS lookup, so the address checked is the address connected to:
 * a name that answers a public address to a pre-check and 169.254.169.254 to the connect (DNS
 * rebinding) has no second answer to give. Any private answer refuses the whole name, so a client
 * falling back through its addresses cannot land on the private one.
 */
export function createGuardedAgent(options: { allow: readonly AllowedBase[]; resolve?: Resolver; connectTimeoutMs: number }): Agent {
  const listed = listedAddresses(options.allow);
  const resolve = options.resolve ?? systemResolver;
  const lookup = (hostname: string, lookupOptions: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname).then(
      (addresses) => {
        const wanted = addresses.filter((a) => !lookupOptions.family || a.family === lookupOptions.family);
        if (wanted.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
        const refused = addresses.map((a) => addressError(hostname, a.address, listed)).find((e) => e !== undefined);
        if (refused) return callback(refused, []);
        if (lookupOptions.all) return callback(null, wanted);
        return callback(null, wanted[0].address, wanted[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
  return new Agent({ connect: { lookup, timeout: options.connectTimeoutMs }, keepAliveTimeout: 4_000 });
}
