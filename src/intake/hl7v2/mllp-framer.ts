/**
 * MLLP framing (HL7 v2.5.1 Implementation Guide for Transmission, Appendix C, "Minimal Lower Layer
 * Protocol"): a message travels as `<VT> payload <FS><CR>` (0x0B … 0x1C 0x0D). The framer is
 * incremental (a frame may arrive in many TCP chunks, and a chunk may hold several frames) and
 * bounded: it never holds more than `maxFrameBytes` of one frame, so a sender cannot grow our
 * memory by never sending `<FS><CR>`.
 */

/** Start block (vertical tab). */
export const VT = 0x0b;
/** End block (file separator). */
export const FS = 0x1c;
/** Carriage return, after the end block. */
export const CR = 0x0d;
const LF = 0x0a;

/** Why a connection's byte stream cannot be framed; the connection is closed with this reason. */
export type FramingError = 'bytes-outside-frame' | 'frame-too-large' | 'end-block-without-cr';

/** What one {@link MllpFramer.push} found. */
export interface FramerOutput {
  /** Complete payloads (between VT and FS CR), in arrival order. */
  frames: Buffer[];
  /** Set when the stream is broken: later bytes are not read. */
  error?: FramingError;
}

/** An incremental MLLP framer for one connection. */
export interface MllpFramer {
  /** Feeds received bytes; returns the frames they completed. */
  push(chunk: Buffer): FramerOutput;
  /** Whether part of a frame is buffered (a started, unterminated frame). */
  readonly inFrame: boolean;
  /** Bytes held for the frame in progress. */
  readonly bufferedBytes: number;
}

/**
 * Creates a framer. Between frames only CR and LF are tolerated (some senders end a frame with
 * `<FS><CR><LF>`); any other byte there, a frame longer than `maxFrameBytes`, or an `<FS>` not
 * followed by `<CR>` breaks the stream: MLLP has no way to resynchronise safely, since a stray VT
 * may sit inside a payload (the guide's "the receiving system shall close the connection").
 */
export function createMllpFramer(maxFrameBytes: number): MllpFramer {
  let parts: Buffer[] = [];
  let size = 0;
  let inFrame = false;
  let sawEnd = false;
  let broken: FramingError | undefined;

  const push = (chunk: Buffer): FramerOutput => {
    const frames: Buffer[] = [];
    if (broken) return { frames, error: broken };
    let i = 0;
    while (i < chunk.length) {
      if (!inFrame) {
        const byte = chunk[i]!;
        i++;
        if (byte === VT) {
          inFrame = true;
          sawEnd = false;
          parts = [];
          size = 0;
        } else if (byte !== CR && byte !== LF) {
          broken = 'bytes-outside-frame';
          return { frames, error: broken };
        }
        continue;
      }
      if (sawEnd) {
        if (chunk[i] !== CR) {
          broken = 'end-block-without-cr';
          return { frames, error: broken };
        }
        i++;
        frames.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size));
        parts = [];
        size = 0;
        inFrame = false;
        sawEnd = false;
        continue;
      }
      const end = chunk.indexOf(FS, i);
      const stop = end === -1 ? chunk.length : end;
      if (size + (stop - i) > maxFrameBytes) {
        broken = 'frame-too-large';
        parts = [];
        size = 0;
        return { frames, error: broken };
      }
      if (stop > i) {
        // Copy: the socket's chunk buffers are pooled and must not be retained by reference.
        parts.push(Buffer.from(chunk.subarray(i, stop)));
        size += stop - i;
      }
      i = stop;
      if (end !== -1) {
        sawEnd = true;
        i++;
      }
    }
    return { frames };
  };

  return {
    push,
    get inFrame() {
      return inFrame;
    },
    get bufferedBytes() {
      return size;
    },
  };
}

/** Wraps a payload in an MLLP frame. */
export function mllpFrame(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([VT]), payload, Buffer.from([FS, CR])]);
}
