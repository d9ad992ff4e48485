import { createRequire } from 'node:module';
import type { Context as CodecContext, NativeCodecs as NativeCodecsClass } from 'dcmjs-codecs';
import { jpegColourModel, readJpegColourMarkers } from './jpeg-colour-model.js';
import { TransferSyntaxUid } from './part10-normalise.js';

/** What a compressed frame decoder needs to know about the frame (PS3.3 C.7.6.3 Image Pixel module). */
export interface FrameDescription {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  samplesPerPixel: number;
  pixelRepresentation: number;
  planarConfiguration: number;
  photometric: string;
}

/** Decoded frame bytes: little endian, samples interleaved, plus the photometric after decoding (`RGB` or `YBR_FULL` for colour). */
export interface DecodedFrame {
  bytes: Uint8Array;
  photometric: string;
}

/**
 * Decodes one compressed frame. Synchronous so preprocessing stays a pure function; the WASM
 * module behind it is loaded once, asynchronously, by {@link loadCompressedFrameDecoder}.
 * Throws on corrupt data (the caller turns that into a typed failure).
 */
export interface CompressedFrameDecoder {
  /** Transfer syntaxes this decoder handles. */
  supports(transferSyntax: string): boolean;
  decode(transferSyntax: string, encoded: Uint8Array, frame: FrameDescription): DecodedFrame;
}

type DcmjsCodecs = { NativeCodecs: typeof NativeCodecsClass; Context: typeof CodecContext };

type CodecMethod = 'decodeJpeg' | 'decodeJpegLs' | 'decodeJpeg2000' | 'decodeHtJpeg2000';

/** Transfer syntax → the dcmjs-codecs WASM entry point (libjpeg-turbo/ljpeg, CharLS, OpenJPEG, OpenJPH). */
const METHODS: Record<string, CodecMethod> = {
  [TransferSyntaxUid.jpegBaseline]: 'decodeJpeg',
  [TransferSyntaxUid.jpegExtended]: 'decodeJpeg',
  [TransferSyntaxUid.jpegLossless]: 'decodeJpeg',
  [TransferSyntaxUid.jpegLosslessSv1]: 'decodeJpeg',
  [TransferSyntaxUid.jpegLsLossless]: 'decodeJpegLs',
  [TransferSyntaxUid.jpegLsNearLossless]: 'decodeJpegLs',
  [TransferSyntaxUid.jpeg2000Lossless]: 'decodeJpeg2000',
  [TransferSyntaxUid.jpeg2000]: 'decodeJpeg2000',
  [TransferSyntaxUid.htj2kLossless]: 'decodeHtJpeg2000',
  [TransferSyntaxUid.htj2kLosslessRpcl]: 'decodeHtJpeg2000',
  [TransferSyntaxUid.htj2k]: 'decodeHtJpeg2000',
};

/** Loads `dcmjs-codecs` (CommonJS, resolved relative to this file). */
export function loadDcmjsCodecsModule(): DcmjsCodecs {
  return createRequire(import.meta.url)('dcmjs-codecs') as DcmjsCodecs;
}

/**
 * Initialises the `dcmjs-codecs` WebAssembly codecs (bundled, works offline) and returns a
 * decoder for JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000 and HTJ2K frames. Call once at
 * start-up and pass the result to `decodeDicomImage`. The WASM instance is the library's own
 * static state; initialising twice is harmless.
 */
export async function loadCompressedFrameDecoder(): Promise<CompressedFrameDecoder> {
  const codecs = loadDcmjsCodecsModule();
  if (!codecs.NativeCodecs.isInitialized()) await codecs.NativeCodecs.initializeAsync({ logCodecsInfo: false, logCodecsTrace: false });
  return {
    supports: (ts) => ts in METHODS,
    decode(transferSyntax, encoded, frame) {
      const method = METHODS[transferSyntax];
      if (!method) throw new Error(`no decoder for transfer syntax ${transferSyntax}`);
      const context = new codecs.Context({
        width: frame.columns,
        height: frame.rows,
        bitsAllocated: frame.bitsAllocated,
        bitsStored: frame.bitsStored,
        samplesPerPixel: frame.samplesPerPixel,
        pixelRepresentation: frame.pixelRepresentation,
        planarConfiguration: frame.planarConfiguration,
        photometricInterpretation: frame.photometric,
        encodedBuffer: encoded,
      });
      // libjpeg would guess the colour space from JFIF/APP14/component ids alone and convert to
      // RGB; an RGB stream without APP14 (legal in DICOM, PS3.5 §8.2.1) would then get a YCbCr→RGB
      // transform it never had. So take the components as coded and decide here, with the DICOM
      // header as the tie-breaker (see jpegColourModel).
      const out = method === 'decodeJpeg' ? codecs.NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: false }) : codecs.NativeCodecs[method](context, {});
      const bytes = out.getDecodedBuffer();
      if (!bytes) throw new Error('codec returned no data');
      let photometric = frame.photometric;
      if (frame.samplesPerPixel === 3) {
        // JPEG 2000/JPEG-LS decoders undo their own component transforms (ICT/RCT) and return RGB.
        photometric = method === 'decodeJpeg' ? jpegColourModel(readJpegColourMarkers(encoded), frame.photometric) : 'RGB';
      }
      return { bytes, photometric };
    },
  };
}
