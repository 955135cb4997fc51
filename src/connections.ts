// Bounds on open connections. A process holds at most http.maxConnections, and one source (an address, or an IPv6
// /64) at most http.maxConnectionsPerSource of them, so that one client cannot take every connection; a configured
// proxy, which carries everybody's requests, is not held to the per-source figure. At the process-wide figure, idle
// keep-alive connections are closed to make room (their clients open a new one when they next need it) before a new
// connection is refused: held-open idle connections must not keep out a client with something to ask.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from './config.js';
import { oncePerBurst, type Logger } from './log.js';
import { sourceKey } from './domain/rate-limit.js';

/** A socket's peer address as the rest of Gatehouse writes it: an IPv4-mapped IPv6 address as plain IPv4. */
export const peerAddress = (socket: Socket): string => {
  const remote = socket.remoteAddress ?? '';
  return remote.startsWith('::ffff:') ? remote.slice(7) : remote;
};

/**
 * The key a source's share of a process-wide bound is counted under (rate-limit.ts sourceKey); undefined for a
 * configured proxy, which carries everybody's requests and so has no share of its own.
 */
export const shareKey = (config: Config, address: string): string | undefined => (config.trustedProxies.includes(address) ? undefined : sourceKey(address));

export function limitConnections(server: Server, config: Config, log: Logger): void {
  const { maxConnections, maxConnectionsPerSource } = config.http;
  const open = new Set<Socket>();
  const bySource = new Map<string, number>();
  const refusedForSource = oncePerBurst((sourceIp: string) =>
    log.warn({ sourceIp, maxConnectionsPerSource }, 'connection refused: http.maxConnectionsPerSource connections are open from this source'),
  );
  const idleClosed = oncePerBurst(() => log.warn({ maxConnections }, 'idle connections closed: http.maxConnections connections are open'));
  const refused = oncePerBurst(() => log.warn({ maxConnections }, 'connection refused: http.maxConnections connections are open'));
  /** Sockets closed a moment ago still count until their 'close' event: those already destroyed do not. */
  const live = () => {
    let n = 0;
    for (const s of open) if (!s.destroyed) n++;
    return n;
  };
  server.on('connection', (socket: Socket) => {
    const peer = peerAddress(socket);
    const key = shareKey(config, peer);
    if (key !== undefined && (bySource.get(key) ?? 0) >= maxConnectionsPerSource) {
      refusedForSource(peer);
      socket.destroy();
      return;
    }
    if (open.size >= maxConnections && live() >= maxConnections) {
      // Node's idle connections: between requests on a kept-alive connection (a new one is not among them).
      server.closeIdleConnections();
      if (live() >= maxConnections) {
        refused();
        socket.destroy();
        return;
      }
      idleClosed();
    }
    open.add(socket);
    if (key !== undefined) bySource.set(key, (bySource.get(key) ?? 0) + 1);
    socket.once('close', () => {
      open.delete(socket);
      if (key === undefined) return;
      const n = (bySource.get(key) ?? 1) - 1;
      if (n === 0) bySource.delete(key);
      else bySource.set(key, n);
    });
  });
}
