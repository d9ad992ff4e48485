import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { createMllpFramer, mllpFrame } from './mllp-framer.js';
import type { FramingError } from './mllp-framer.js';

/** Options of {@link startMllpListener}. */
export interface MllpListenerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Largest frame payload accepted; a longer one closes the connection. */
  maxMessageBytes: number;
  /** A started frame must end within this time (slow-loris senders are cut off). */
  frameTimeoutMs: number;
  /** A connection with no bytes for this long is closed. */
  idleTimeoutMs: number;
  /** Connections served at once; more are closed at once. */
  maxConnections: number;
  /** Peer addresses allowed to connect; empty allows any (MLLP itself has no authentication). */
  allowedAddresses?: readonly string[];
  logger: Logger;
  /** Handles one frame's payload and returns the ACK to send (never throws for bad input). */
  handle(payload: Buffer): Promise<Buffer>;
  /** Called with the reason when a connection is closed for a framing or time fault. */
  onDrop?(reason: ConnectionDropReason): void;
}

/** Why fhir-fusion closed an MLLP connection. */
export type ConnectionDropReason =
  | FramingError
  | 'frame-timeout'
  | 'idle-timeout'
  | 'too-many-connections'
  | 'address-not-allowed'
  | 'handler-failed';

/** An address as compared: lower case, IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as plain IPv4. */
function normalisedAddress(address: string | undefined): string {
  const lower = (address ?? '').toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

/** A running listener. */
export interface MllpListener {
  /** The bound port. */
  port: number;
  /** Stops accepting, lets messages being handled finish (up to 10 s), closes every connection. */
  close(): Promise<void>;
}

/**
 * An MLLP server (HL7 v2.5.1 Transmission IG Appendix C). Per connection, frames are handled one
 * at a time in arrival order and each is answered before the next is read (the socket is paused
 * meanwhile): MLLP senders wait for the ACK of a message before sending the next one, and
 * answering in order keeps their accounting simple. Memory per connection is bounded by
 * `maxMessageBytes` plus one socket read; a frame that does not end within `frameTimeoutMs` or a
 * connection silent for `idleTimeoutMs` is closed. A broken connection never affects the others.
 * Log lines carry reasons and sizes, never message content.
 */
export async function startMllpListener(options: MllpListenerOptions): Promise<MllpListener> {
  const { logger } = options;
  const sockets = new Set<Socket>();
  const inFlight = new Set<Promise<void>>();
  const server = createServer({ pauseOnConnect: false });

  const drop = (socket: Socket, reason: ConnectionDropReason, extra: Record<string, unknown> = {}): void => {
    logger.warn({ remote: socket.remoteAddress, reason, ...extra }, 'hl7 mllp connection closed');
    options.onDrop?.(reason);
    socket.destroy();
  };

  const allowed = new Set((options.allowedAddresses ?? []).map(normalisedAddress));
  server.on('connection', (socket) => {
    if (allowed.size > 0 && !allowed.has(normalisedAddress(socket.remoteAddress))) {
      drop(socket, 'address-not-allowed');
      return;
    }
    if (sockets.size >= options.maxConnections) {
      drop(socket, 'too-many-connections', { limit: options.maxConnections });
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (err) =>
      logger.debug(
        { remote: socket.remoteAddress, code: (err as NodeJS.ErrnoException).code },
        'hl7 mllp socket error',
      ),
    );
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs, () => drop(socket, 'idle-timeout'));
    const framer = createMllpFramer(options.maxMessageBytes);
    const pending: Buffer[] = [];
    let busy = false;
    let frameTimer: NodeJS.Timeout | undefined;

    const armFrameTimer = (): void => {
      if (framer.inFrame && !frameTimer) {
        frameTimer = setTimeout(
          () => drop(socket, 'frame-timeout', { bufferedBytes: framer.bufferedBytes }),
          options.frameTimeoutMs,
        );
      } else if (!framer.inFrame && frameTimer) {
        clearTimeout(frameTimer);
        frameTimer = undefined;
      }
    };
    socket.on('close', () => clearTimeout(frameTimer));

    const drain = async (): Promise<void> => {
      busy = true;
      socket.pause();
      try {
        while (pending.length > 0 && !socket.destroyed) {
          const payload = pending.shift()!;
          const ack = await options.handle(payload);
          if (!socket.destroyed) socket.write(mllpFrame(ack));
        }
      } catch (err) {
        drop(socket, 'handler-failed', { err: { message: (err as Error).message } });
      } finally {
        busy = false;
        if (!socket.destroyed) socket.resume();
      }
    };

    socket.on('data', (chunk: Buffer) => {
      const { frames, error } = framer.push(chunk);
      pending.push(...frames);
      if (error) {
        drop(socket, error, { bufferedBytes: framer.bufferedBytes, limit: options.maxMessageBytes });
        return;
      }
      armFrameTimer();
      if (!busy && pending.length > 0) {
        const run = drain();
        inFlight.add(run);
        void run.finally(() => inFlight.delete(run));
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err: { message: err.message } }, 'hl7 mllp listener error'));
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: options.host }, 'hl7 mllp listener started');

  return {
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => setTimeout(r, 10_000).unref()),
      ]);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
