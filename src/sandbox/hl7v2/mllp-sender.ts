import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';

/** An ACK as the sender sees it. */
export interface SenderAck {
  /** MSA-1: AA, AE or AR. */
  code: string;
  /** The ACK, segments separated by CR. */
  text: string;
}

/**
 * The sandbox's end of the HL7 v2 door: sends messages over MLLP with `@medplum/hl7`'s client
 * (one connection, each message waits for its ACK before the next, as interface engines do) and
 * resends a message answered `AR` or left without an ACK, up to `attempts` times (original
 * acknowledgment mode: AR means "try again", AE means "fix the message").
 */
export async function sendOverMllp(
  target: { host: string; port: number },
  messages: string[],
  options: { timeoutMs?: number; attempts?: number } = {},
): Promise<SenderAck[]> {
  const acks: SenderAck[] = [];
  const attempts = options.attempts ?? 3;
  let client = new Hl7Client({ host: target.host, port: target.port, keepAlive: true });
  try {
    for (const text of messages) {
      for (let attempt = 1; ; attempt++) {
        try {
          const reply = await client.sendAndWait(Hl7Message.parse(text), {
            timeoutMs: options.timeoutMs ?? 30_000,
          });
          const ack = {
            code: reply.getSegment('MSA')?.getField(1)?.toString() ?? '',
            text: reply.toString(),
          };
          if (ack.code === 'AR' && attempt < attempts) continue;
          acks.push(ack);
          break;
        } catch (err) {
          if (attempt >= attempts) throw err;
          await client.close().catch(() => undefined);
          client = new Hl7Client({ host: target.host, port: target.port, keepAlive: true });
        }
      }
    }
  } finally {
    await client.close().catch(() => undefined);
  }
  return acks;
}
