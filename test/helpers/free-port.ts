import { createServer, type Server } from 'node:net';

function listenOnAnyPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

/**
 * `count` distinct free TCP ports on loopback. The sockets are all held open until every port is
 * known: closing one before asking for the next lets the OS hand the same port out twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const held = [];
  for (let i = 0; i < count; i++) held.push(await listenOnAnyPort());
  await Promise.all(held.map(({ server }) => new Promise((resolve) => server.close(resolve))));
  return held.map(({ port }) => port);
}

/** One free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port ?? 0;
}
