/**
 * Exact Shapley values over a handful of players (the modalities a patient has), from the value of
 * every coalition. With n players there are 2^n coalitions (16 for the four modalities), so the
 * exact sum is cheap and needs no sampling. Coalitions are bitmasks over the players: bit k set
 * means player k is kept (unmasked).
 *
 * φ_k = Σ_{S ⊆ N∖{k}} |S|! (n−|S|−1)! / n! · (v(S ∪ {k}) − v(S)) — Shapley (1953), "A value for
 * n-person games"; efficiency: Σ_k φ_k = v(N) − v(∅), which the tests check.
 */
export function shapleyValues(playerCount: number, value: (keptMask: number) => number): number[] {
  const factorial = [1];
  for (let k = 1; k <= playerCount; k += 1) factorial.push(factorial[k - 1]! * k);
  const full = (1 << playerCount) - 1;
  const cache = new Map<number, number>();
  const v = (mask: number): number => {
    let known = cache.get(mask);
    if (known === undefined) {
      known = value(mask);
      cache.set(mask, known);
    }
    return known;
  };
  const result: number[] = [];
  for (let k = 0; k < playerCount; k += 1) {
    const bit = 1 << k;
    let phi = 0;
    for (let s = 0; s <= full; s += 1) {
      if (s & bit) continue;
      const size = popcount(s);
      const weight = (factorial[size]! * factorial[playerCount - size - 1]!) / factorial[playerCount]!;
      phi += weight * (v(s | bit) - v(s));
    }
    result.push(phi);
  }
  return result;
}

/** Number of set bits in a small non-negative integer. */
export function popcount(mask: number): number {
  let count = 0;
  for (let m = mask; m; m &= m - 1) count += 1;
  return count;
}
