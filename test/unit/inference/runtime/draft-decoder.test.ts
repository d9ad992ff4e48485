import { describe, expect, it } from 'vitest';
import {
  detokenise,
  greedyDecode,
  type DecodeSettings,
} from '../../../../src/inference/runtime/draft-decoder.js';

const TOKENS = ['<pad>', '<bos>', '<eos>', '<unk>', 'no', 'effusion', '.', 'heart', 'enlarged', ','];
const SETTINGS: DecodeSettings = {
  padId: 0,
  bosId: 1,
  eosId: 2,
  unknownId: 3,
  maxTokens: 10,
  maxCharacters: 200,
};

/** A fake decoder step that emits `script[row][t]` (one-hot logits) and counts steps in its state. */
function scripted(script: number[][], extraHot?: number) {
  const seen: bigint[][] = [];
  const step = async (previous: BigInt64Array, t: number) => {
    seen.push([...previous]);
    const logits = new Float32Array(script.length * TOKENS.length);
    script.forEach((row, r) => {
      logits[r * TOKENS.length + (row[t] ?? 2)] = 5;
      if (extraHot !== undefined) logits[r * TOKENS.length + extraHot] = 10;
    });
    return { logits, state: t + 1 };
  };
  return { step, seen };
}

describe('greedyDecode', () => {
  it('feeds <bos> first, then each row its own previous arg-max, and stops each row at <eos>', async () => {
    const { step, seen } = scripted([
      [4, 5, 6, 2],
      [7, 8, 6, 2],
    ]);
    const rows = await greedyDecode(2, 0, step, SETTINGS);
    expect(rows).toEqual([
      { ids: [4, 5, 6], hitTokenCap: false },
      { ids: [7, 8, 6], hitTokenCap: false },
    ]);
    expect(seen[0]).toEqual([1n, 1n]);
    expect(seen[1]).toEqual([4n, 7n]);
    expect(seen).toHaveLength(4);
  });

  it('stops at the token cap and says so', async () => {
    const { step } = scripted([[4, 5, 4, 5, 4, 5, 4, 5]]);
    const [row] = await greedyDecode(1, 0, step, { ...SETTINGS, maxTokens: 3 });
    expect(row).toEqual({ ids: [4, 5, 4], hitTokenCap: true });
  });

  it('never emits <pad>, <bos> or <unk>, even when they score highest', async () => {
    for (const banned of [0, 1, 3]) {
      const { step } = scripted([[4, 2]], banned);
      const [row] = await greedyDecode(1, 0, step, SETTINGS);
      expect(row!.ids).toEqual([4]);
    }
  });
});

describe('detokenise', () => {
  it('attaches punctuation and capitalises each sentence', () => {
    expect(detokenise([4, 5, 6, 7, 8, 9, 4, 5, 6], TOKENS, 200)).toEqual({
      text: 'No effusion. Heart enlarged, no effusion.',
      truncated: false,
    });
  });

  it('cuts at the last whole word within the character cap', () => {
    const { text, truncated } = detokenise([4, 5, 6, 7, 8, 6], TOKENS, 18);
    expect(text).toBe('No effusion. Heart');
    expect(truncated).toBe(true);
    expect(text.length).toBeLessThanOrEqual(18);
  });
});
