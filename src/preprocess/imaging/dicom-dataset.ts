import { createRequire } from 'node:module';
import { fail, ok, type PreprocessResult } from '../result.js';

/** One element of a dcmjs (DICOM JSON model, PS3.18 Annex F) data set. */
export interface DicomElement {
  vr: string;
  Value?: unknown[];
}

/** A data set keyed by 8-hex-digit tag (`00280010`), as dcmjs reads it. */
export type DicomDataset = Record<string, DicomElement | undefined>;

/** One loglevel logger (dcmjs logs through loglevel 1.9: a root logger and named children). */
export interface LibraryLogger {
  methodFactory: (methodName: string, level: number, loggerName: string | symbol | undefined) => (...args: unknown[]) => void;
  rebuild?(): void;
  getLevel?(): number;
  setLevel?(level: number | string, persist?: boolean): void;
  getLoggers?(): Record<string, LibraryLogger>;
}

/** The slice of dcmjs this module calls (the package ships no TypeScript types). */
export interface DcmjsModule {
  data: {
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; noCopy?: boolean; untilTag?: string; includeUntilTagValue?: boolean }): { meta: DicomDataset; dict: DicomDataset };
    };
  };
  log: LibraryLogger;
}

/** A message a third-party library tried to print: which logger and level, never its text (it can hold tag values). */
export interface LibraryMessage {
  library: 'dcmjs';
  logger: string;
  level: string;
}

/** Receives {@link LibraryMessage}s (route to the logger at debug and count them in a metric). */
export type LibraryMessageSink = (message: LibraryMessage) => void;

/**
 * Points every dcmjs logger (the loglevel root and its children, e.g. `validation.dcmjs`) at `sink`
 * instead of the console. dcmjs writes warnings straight to stderr — with `ignoreErrors` one per
 * unreadable "element", ~200,000 lines for a file with trailing garbage — bypassing the JSON logs.
 * The loggers and their level are the library's own state, so this is re-applied before each read
 * with that read's sink; reads are synchronous, so two decodes cannot interleave.
 */
export function routeDcmjsLogs(dcmjs: Pick<DcmjsModule, 'log'>, sink: LibraryMessageSink): void {
  const root = dcmjs.log;
  const loggers = [root, ...Object.values(root.getLoggers?.() ?? {})];
  for (const logger of loggers) {
    logger.methodFactory = (methodName, _level, loggerName) => () =>
      sink({ library: 'dcmjs', logger: typeof loggerName === 'string' ? loggerName : 'dcmjs', level: methodName });
    // loglevel binds methods when the level is set, through the factory. The level is the
    // library's global state too: another part of the process (the sandbox's generator, in the
    // demo) may have set it to 'error', which would hide warnings from this read's sink.
    if (logger.setLevel) logger.setLevel('warn', false);
    else if (logger.rebuild) logger.rebuild();
  }
}

/** Loads dcmjs once per caller; pass the result around instead of re-requiring it. */
export function loadDcmjs(): DcmjsModule {
  const require = createRequire(import.meta.url);
  return require('dcmjs') as DcmjsModule;
}

/**
 * Parses a Part-10 buffer (see `normaliseToPart10`) with dcmjs, up to and including PixelData.
 * Pixel data is not decoded here: dcmjs returns native pixel data as one ArrayBuffer and
 * encapsulated pixel data as fragments. Whatever dcmjs would log goes to `onLibraryMessage`
 * (default: dropped), never to the console.
 */
export function readDicomDataset(part10: ArrayBuffer, dcmjs: DcmjsModule = loadDcmjs(), onLibraryMessage: LibraryMessageSink = () => {}): PreprocessResult<DicomDataset> {
  routeDcmjsLogs(dcmjs, onLibraryMessage);
  try {
    // Stop at PixelData (7FE0,0010), value included: nothing after it is needed, and parsing
    // whatever follows is where hostile files make dcmjs spend seconds.
    const file = dcmjs.data.DicomMessage.readFile(part10, { ignoreErrors: true, noCopy: true, untilTag: '7FE00010', includeUntilTagValue: true });
    return ok(file.dict);
  } catch {
    return fail('failed-to-decode', 'DICOM data set could not be parsed');
  }
}

/** First value of an element as a number (US/SS/UL/SL/FL/FD, or DS/IS strings), if any. */
export function numberAt(ds: DicomDataset, tag: string, index = 0): number | undefined {
  const v = ds[tag]?.Value?.[index];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** First value of an element as a trimmed string, if any. */
export function stringAt(ds: DicomDataset, tag: string, index = 0): string | undefined {
  const v = ds[tag]?.Value?.[index];
  return typeof v === 'string' ? v.trim() : undefined;
}

/** Items of a sequence (SQ) element. */
export function sequenceAt(ds: DicomDataset, tag: string): DicomDataset[] {
  const items = ds[tag]?.Value ?? [];
  return items.filter((i): i is DicomDataset => typeof i === 'object' && i !== null && !(i instanceof ArrayBuffer));
}

/**
 * Binary values of an OB/OW/UN element as byte views (dcmjs keeps them as ArrayBuffers or views;
 * for encapsulated multi-frame data read without copying, a frame may be an array of fragments,
 * which is concatenated here so that each returned value is one frame or one fragment).
 */
export function binaryAt(ds: DicomDataset, tag: string): Uint8Array[] {
  const values = ds[tag]?.Value ?? [];
  const out: Uint8Array[] = [];
  for (const v of values) {
    const parts = Array.isArray(v) ? v : [v];
    const views = parts.flatMap((p): Uint8Array[] => (p instanceof ArrayBuffer ? [new Uint8Array(p)] : ArrayBuffer.isView(p) ? [new Uint8Array(p.buffer, p.byteOffset, p.byteLength)] : []));
    if (views.length === 1) out.push(views[0]!);
    else if (views.length > 1) {
      const joined = new Uint8Array(views.reduce((n, p) => n + p.byteLength, 0));
      let o = 0;
      for (const p of views) {
        joined.set(p, o);
        o += p.byteLength;
      }
      out.push(joined);
    }
  }
  return out;
}
