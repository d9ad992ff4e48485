import type { DraftModelManifest } from '../manifest/draft-manifest.js';

/** Token ids and caps of greedy decoding: the drafting manifest's `decoding` section, as declared there. */
export type DecodeSettings = Pick<
  DraftModelManifest['decoding'],
  'bosId' | 'eosId' | 'padId' | 'unknownId' | 'maxTokens' | 'maxCharacters'
>;

/**
 * One decoder step over a batch: the previous token of every row and the recurrent state in, the
 * next-token logits (`rows × vocabulary`, row-major) and the new state out. `S` is opaque to the
 * loop (LSTM `h`/`c` for the reference model).
 */
export type DecoderStep<S> = (
  previous: BigInt64Array,
  state: S,
) => Promise<{ logits: Float32Array; state: S }>;

/** The token ids of one decoded row (without `<eos>`), and whether it stopped at the token cap. */
export interface DecodedRow {
  ids: number[];
  hitTokenCap: boolean;
}

/**
 * Greedy decoding of a batch: start every row at `<bos>`, take the arg-max token at each step and
 * stop a row at `<eos>`; stop everything when all rows ended or after `maxTokens` steps. `<pad>`,
 * `<bos>` and `<unk>` are never emitted (their logits are skipped), so a draft holds only words of
 * the vocabulary the model was trained to write.
 */
export async function greedyDecode<S>(
  rows: number,
  initial: S,
  step: DecoderStep<S>,
  settings: DecodeSettings,
): Promise<DecodedRow[]> {
  const banned = new Set([settings.padId, settings.bosId, settings.unknownId]);
  const out: DecodedRow[] = Array.from({ length: rows }, () => ({ ids: [], hitTokenCap: false }));
  const done = new Array<boolean>(rows).fill(false);
  let previous = new BigInt64Array(rows).fill(BigInt(settings.bosId));
  let state = initial;
  for (let t = 0; t < settings.maxTokens && done.includes(false); t++) {
    const result = await step(previous, state);
    state = result.state;
    const vocabulary = result.logits.length / rows;
    const next = new BigInt64Array(rows);
    for (let r = 0; r < rows; r++) {
      let best = -1;
      let bestLogit = Number.NEGATIVE_INFINITY;
      for (let v = 0; v < vocabulary; v++) {
        const logit = result.logits[r * vocabulary + v]!;
        if (!banned.has(v) && logit > bestLogit) {
          best = v;
          bestLogit = logit;
        }
      }
      // A row whose logits are all NaN ends here rather than emitting an arbitrary word.
      if (best < 0) best = settings.eosId;
      next[r] = BigInt(best);
      if (done[r]) continue;
      if (best === settings.eosId) done[r] = true;
      else out[r]!.ids.push(best);
    }
    previous = next;
  }
  done.forEach((d, r) => (out[r]!.hitTokenCap = !d));
  return out;
}

/** Tokens that attach to the word before them. */
const PUNCTUATION = new Set(['.', ',', ';']);

/**
 * Text of a decoded row: words joined by spaces, punctuation attached, each sentence capitalised;
 * cut at the last whole word within `maxCharacters` (then `truncated`).
 */
export function detokenise(
  ids: readonly number[],
  tokens: readonly string[],
  maxCharacters: number,
): { text: string; truncated: boolean } {
  let text = '';
  let sentenceStart = true;
  let truncated = false;
  for (const id of ids) {
    const word = tokens[id];
    if (word === undefined) continue;
    const piece = PUNCTUATION.has(word)
      ? word
      : `${text ? ' ' : ''}${sentenceStart ? word.charAt(0).toUpperCase() + word.slice(1) : word}`;
    if (text.length + piece.length > maxCharacters) {
      truncated = true;
      break;
    }
    text += piece;
    if (word === '.') sentenceStart = true;
    else if (!PUNCTUATION.has(word)) sentenceStart = false;
  }
  return { text, truncated };
}
