import { createServer, type Server, Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy } from './fault-proxy.ts';

/** The fault proxy between real sockets: an echo server behind it, a client in front. */

let echo: Server;
let proxy: FaultProxy;
const clients: Socket[] = [];

beforeEach(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  proxy = new FaultProxy('echo', (echo.address() as { port: number }).port);
  await proxy.listen();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await proxy.close();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

interface Client {
  socket: Socket;
  received(): string;
  closed: Promise<string>;
}

async function connect(): Promise<Client> {
  const socket = new Socket();
  clients.push(socket);
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString();
  });
  const closed = new Promise<string>((resolve) => {
    let code = 'closed';
    socket.on('error', (error: NodeJS.ErrnoException) => {
      code = error.code ?? 'error';
    });
    socket.on('close', () => resolve(code));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
    socket.connect(proxy.port, '127.0.0.1');
  });
  return { socket, received: () => received, closed };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never: ${what}`);
}

/** Gives the sockets a moment: what has not arrived by then is held (or dropped) by the proxy. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

describe('fault proxy', () => {
  it('passes bytes both ways', async () => {
    const client = await connect();
    client.socket.write('hello');
    await until(() => client.received() === 'hello', 'the echo');
  });

  it('holds bytes back in latency mode and lets them through, in order, on heal', async () => {
    const client = await connect();
    proxy.set('latency', { latencyMs: 60_000 });
    client.socket.write('one ');
    client.socket.write('two');
    await settle();
    expect(client.received()).toBe('');
    proxy.set('pass');
    await until(() => client.received() === 'one two', 'the held bytes, in order');
  });

  it('stalls open and new connections, then delivers what was held', async () => {
    const open = await connect();
    proxy.set('stall');
    open.socket.write('before');
    const fresh = await connect();
    fresh.socket.write('during');
    await settle();
    expect(open.received()).toBe('');
    expect(fresh.received()).toBe('');
    proxy.set('pass');
    await until(() => open.received() === 'before' && fresh.received() === 'during', 'both echoes');
  });

  it('resets open connections and every new one while the mode lasts', async () => {
    const open = await connect();
    proxy.set('reset');
    expect(await open.closed).toBe('ECONNRESET');
    const refusedOrReset = await connect()
      .then((client) => client.closed)
      .catch((error: NodeJS.ErrnoException) => error.code);
    expect(refusedOrReset).toBe('ECONNRESET');
    proxy.set('pass');
    const after = await connect();
    after.socket.write('back');
    await until(() => after.received() === 'back', 'the echo after the reset');
  });

  it('drops everything in blackhole mode and cuts those connections on heal', async () => {
    const open = await connect();
    proxy.set('blackhole');
    open.socket.write('lost');
    const fresh = await connect();
    fresh.socket.write('lost too');
    await settle();
    expect(open.received()).toBe('');
    expect(fresh.received()).toBe('');
    proxy.set('pass');
    expect(await open.closed).toBe('closed');
    expect(await fresh.closed).toBe('closed');
    expect(open.received()).toBe('');
    const after = await connect();
    after.socket.write('back');
    await until(() => after.received() === 'back', 'the echo after the blackhole');
  });
});
