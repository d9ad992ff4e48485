import { connect } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { mllpFrame } from '../../../src/intake/hl7v2/mllp-framer.js';
import { startMllpListener } from '../../../src/intake/hl7v2/mllp-listener.js';
import type {
  ConnectionDropReason,
  MllpListener,
  MllpListenerOptions,
} from '../../../src/intake/hl7v2/mllp-listener.js';

let listener: MllpListener | undefined;
const drops: ConnectionDropReason[] = [];

afterEach(async () => {
  await listener?.close();
  listener = undefined;
  drops.length = 0;
});

/** A listener whose handler answers `ACK:<payload>` after `delayMs`, recording the order it ran in. */
async function start(
  options: Partial<MllpListenerOptions> = {},
  delayMs = 0,
  seen: string[] = [],
): Promise<number> {
  listener = await startMllpListener({
    host: '127.0.0.1',
    port: 0,
    maxMessageBytes: 1024,
    frameTimeoutMs: 2000,
    idleTimeoutMs: 5000,
    maxConnections: 8,
    logger: pino({ level: 'silent' }),
    handle: async (payload) => {
      seen.push(payload.toString());
      await new Promise((r) => setTimeout(r, delayMs));
      return Buffer.from(`ACK:${payload.toString()}`);
    },
    onDrop: (reason) => drops.push(reason),
    ...options,
  });
  return listener.port;
}

/** Writes the chunks, collects replies until `expected` frames came back or the socket closed. */
function exchange(
  port: number,
  chunks: Buffer[],
  expected: number,
): Promise<{ replies: string[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = '';
    let closed = false;
    const finish = (): void => {
      const replies = buffer
        .split('\u001c\r')
        .filter(Boolean)
        .map((r) => r.replace('\u000b', ''));
      if (replies.length >= expected || closed) {
        socket.destroy();
        resolve({ replies, closed });
      }
    };
    socket.on('data', (d) => {
      buffer += d.toString('latin1');
      finish();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
  });
}

describe('MLLP listener (src/intake/hl7v2/mllp-listener.ts)', () => {
  it('answers frames sent back to back in one write in order, one at a time, and frames split across writes', async () => {
    const seen: string[] = [];
    const port = await start({}, 30, seen);
    const both = Buffer.concat([
      mllpFrame(Buffer.from('one')),
      mllpFrame(Buffer.from('two')),
      mllpFrame(Buffer.from('three')),
    ]);
    const result = await exchange(port, [both.subarray(0, 7), both.subarray(7, 8), both.subarray(8)], 3);
    expect(result.replies).toEqual(['ACK:one', 'ACK:two', 'ACK:three']);
    expect(seen).toEqual(['one', 'two', 'three']);
  });

  it('closes connections from addresses outside HL7_MLLP_ALLOWED_ADDRESSES before reading anything', async () => {
    const seen: string[] = [];
    let port = await start({ allowedAddresses: ['10.1.2.3'] }, 0, seen);
    expect(await exchange(port, [mllpFrame(Buffer.from('x'))], 1)).toEqual({ replies: [], closed: true });
    expect(seen).toEqual([]);
    expect(drops).toEqual(['address-not-allowed']);
    await listener?.close();
    port = await start({ allowedAddresses: ['10.1.2.3', '127.0.0.1'] });
    expect((await exchange(port, [mllpFrame(Buffer.from('x'))], 1)).replies).toEqual(['ACK:x']);
  });

  it('closes connections over HL7_MAX_CONNECTIONS and keeps serving the others', async () => {
    const port = await start({ maxConnections: 1 }, 300);
    const first = exchange(port, [mllpFrame(Buffer.from('a'))], 1);
    await new Promise((r) => setTimeout(r, 100));
    const second = await exchange(port, [mllpFrame(Buffer.from('b'))], 1);
    expect(second).toEqual({ replies: [], closed: true });
    expect((await first).replies).toEqual(['ACK:a']);
    expect(drops).toContain('too-many-connections');
  });
});
