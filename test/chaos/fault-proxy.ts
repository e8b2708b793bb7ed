import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy put between a service and one of its dependencies (PostgreSQL, Redis, NATS) so that a
 * chaos run can break the network between them without touching either:
 *
 * - `pass`: bytes flow as they come;
 * - `latency`: every chunk is held `latencyMs` before it is passed on (order kept);
 * - `stall`: connections stay open but nothing flows (new ones too); what was held flows on heal;
 * - `reset`: every open connection is reset (RST), and so is every new one while the mode lasts;
 * - `blackhole`: connections stay open, everything sent is dropped; on heal they are cut, as a
 *   peer's keepalive would eventually do.
 *
 * Written by hand: a fault proxy with these modes on loopback is a few dozen lines of `node:net`,
 * and the tools that do it (toxiproxy) are not available here as libraries.
 */

export type ProxyMode = 'pass' | 'latency' | 'stall' | 'reset' | 'blackhole';

interface Direction {
  to: Socket;
  pending: { chunk: Buffer; due: number }[];
  timer?: NodeJS.Timeout;
}

interface Connection {
  client: Socket;
  upstream?: Socket;
  toUpstream: Direction;
  toClient?: Direction;
  blackholed: boolean;
}

export class FaultProxy {
  private server: Server;
  private connections = new Set<Connection>();
  private mode: ProxyMode = 'pass';
  private latencyMs = 0;
  port = 0;

  readonly name: string;
  private readonly targetPort: number;
  private readonly targetHost: string;

  constructor(name: string, targetPort: number, targetHost = '127.0.0.1') {
    this.name = name;
    this.targetPort = targetPort;
    this.targetHost = targetHost;
    this.server = createServer((client) => this.accept(client));
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  get current(): ProxyMode {
    return this.mode;
  }

  get openConnections(): number {
    return this.connections.size;
  }

  set(mode: ProxyMode, options: { latencyMs?: number } = {}): void {
    const previous = this.mode;
    this.mode = mode;
    this.latencyMs = options.latencyMs ?? 0;
    if (mode === 'reset' || (previous === 'blackhole' && mode !== 'blackhole')) {
      for (const connection of this.connections) {
        if (mode === 'reset' || connection.blackholed) this.drop(connection, mode === 'reset');
      }
    }
    if (mode === 'pass') {
      // Healed: what a latency held back is due now.
      for (const connection of this.connections) {
        for (const direction of [connection.toUpstream, connection.toClient]) {
          for (const held of direction?.pending ?? []) held.due = 0;
        }
      }
    }
    if (mode === 'blackhole') {
      for (const connection of this.connections) {
        connection.blackholed = true;
        connection.toUpstream.pending = [];
        if (connection.toClient) connection.toClient.pending = [];
      }
    }
    for (const connection of this.connections) {
      this.pump(connection.toUpstream);
      if (connection.toClient) this.pump(connection.toClient);
    }
  }

  async close(): Promise<void> {
    for (const connection of this.connections) this.drop(connection, false);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.setNoDelay(true);
    if (this.mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const connection: Connection = {
      client,
      toUpstream: { to: undefined as unknown as Socket, pending: [] },
      blackholed: this.mode === 'blackhole',
    };
    this.connections.add(connection);
    client.on('error', () => this.drop(connection, false));
    client.on('close', () => this.drop(connection, false));
    client.on('data', (chunk) => this.receive(connection, connection.toUpstream, chunk));
    if (connection.blackholed) return; // never reaches the other side
    this.connectUpstream(connection);
  }

  private connectUpstream(connection: Connection): void {
    const upstream = new Socket();
    upstream.setNoDelay(true);
    connection.upstream = upstream;
    connection.toUpstream.to = upstream;
    connection.toClient = { to: connection.client, pending: [] };
    const toClient = connection.toClient;
    upstream.on('data', (chunk) => this.receive(connection, toClient, chunk));
    upstream.on('error', () => this.drop(connection, false));
    upstream.on('close', () => this.drop(connection, false));
    upstream.on('connect', () => this.pump(connection.toUpstream));
    upstream.connect(this.targetPort, this.targetHost);
  }

  private receive(connection: Connection, direction: Direction, chunk: Buffer): void {
    if (connection.blackholed || this.mode === 'blackhole') {
      connection.blackholed = true;
      return;
    }
    const delay = this.mode === 'latency' ? this.latencyMs : 0;
    direction.pending.push({ chunk, due: Date.now() + delay });
    this.pump(direction);
  }

  private pump(direction: Direction): void {
    if (this.mode === 'stall' || this.mode === 'blackhole') return;
    const to = direction.to;
    if (!to || to.connecting || to.destroyed) return;
    if (direction.timer) {
      clearTimeout(direction.timer);
      direction.timer = undefined;
    }
    const now = Date.now();
    while (direction.pending.length > 0 && direction.pending[0]!.due <= now) {
      to.write(direction.pending.shift()!.chunk);
    }
    if (direction.pending.length > 0) {
      direction.timer = setTimeout(() => this.pump(direction), direction.pending[0]!.due - now);
    }
  }

  private drop(connection: Connection, reset: boolean): void {
    if (!this.connections.delete(connection)) return;
    for (const direction of [connection.toUpstream, connection.toClient]) {
      if (direction?.timer) clearTimeout(direction.timer);
    }
    if (reset) {
      for (const socket of [connection.client, connection.upstream]) {
        if (!socket || socket.destroyed) continue;
        if (socket.connecting) socket.destroy();
        else socket.resetAndDestroy();
      }
    } else {
      connection.client.destroy();
      connection.upstream?.destroy();
    }
  }
}
