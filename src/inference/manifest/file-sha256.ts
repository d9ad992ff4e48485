import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** sha256 (lower-case hex) of a file, streamed so multi-gigabyte models do not sit in memory. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
