// The Host values a server without a configured public URL answers to. Such a server builds the URLs it hands out
// (verificationUri, authorizationEndpoint, …) from the Host of the request, so a Host it does not listen on would
// make it hand out someone else's address; a page answered under a foreign name would also let a rebound DNS name
// read it from a browser. AWS clients send the endpoint they were given: 127.0.0.1:PORT, localhost:PORT, the
// bound address. Names other than localhost need publicUrl (docs/deployment.md).
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
/** A server bound to every address learns a new interface address within this time. */
const INTERFACES_REFRESH_MS = 5000;

const isWildcard = (address: string) => address === '0.0.0.0' || address === '::';
const isLoopback = (address: string) => address === '::1' || address.startsWith('127.') || address === '::ffff:127.0.0.1';
const shown = (address: string) => (address.includes(':') ? `[${address}]` : address);

export class ListeningHosts {
  private allowed = new Set<string>();
  private refreshedAt = 0;

  constructor(private readonly address: AddressInfo) {
    this.refresh(Date.now());
  }

  /** Whether a Host header value (name or address, with the port unless it is 80) is one this server listens on. */
  allows(host: string): boolean {
    const h = host.toLowerCase();
    if (this.allowed.has(h)) return true;
    const now = Date.now();
    if (!isWildcard(this.address.address) || now - this.refreshedAt < INTERFACES_REFRESH_MS) return false;
    this.refresh(now);
    return this.allowed.has(h);
  }

  private refresh(now: number) {
    this.refreshedAt = now;
    const { address, port } = this.address;
    const names = new Set<string>([shown(address)]);
    if (isWildcard(address) || isLoopback(address)) for (const name of LOOPBACK_NAMES) names.add(name);
    if (isWildcard(address)) {
      for (const list of Object.values(networkInterfaces())) {
        for (const nic of list ?? []) if (!nic.address.includes('%')) names.add(shown(nic.address));
      }
    }
    const allowed = new Set<string>();
    for (const name of names) {
      allowed.add(`${name}:${port}`);
      if (port === 80) allowed.add(name);
    }
    this.allowed = allowed;
  }
}
