/**
 * Poisson draws from pooled random numbers, for the simulator's detector pixels. A reconstruction pixel's
 * b x b detector pixels share one mean, so the work per mean (a CDF table) is done once and each draw is a short
 * walk from the mode: about sqrt(mean) comparisons. Above `POISSON_NORMAL_ABOVE` a rounded normal with the
 * Cornish-Fisher skew term is used, k = round(mean + sqrt(mean) z + (z^2 - 1) / 6): its mean and variance are the
 * Poisson's and its skewness too, to first order, which a plain normal would miss.
 *
 * Plain functions on numbers and typed arrays (no object state), so V8 inlines them into the pixel loop;
 * Math.floor(x + 0.5) rounds, as Math.round is several times slower in V8's optimised code.
 */

export const POISSON_NORMAL_ABOVE = 10;
/** Long enough that the tail left out is below 1e-9 (beyond float32 uniforms' resolution near 1) up to 10. */
export const POISSON_TABLE_LENGTH = 48;

/** 1 / k: a multiplication instead of a division in the table's dependency chain (a division is ~5x slower). */
const RECIPROCALS = Float64Array.from({ length: POISSON_TABLE_LENGTH }, (_, k) => (k === 0 ? 0 : 1 / k));

/** Fills `cdf` with the Poisson CDF of `mean` (<= POISSON_NORMAL_ABOVE); returns the last index filled. */
export function poissonTable(mean: number, cdf: Float64Array): number {
  let probability = Math.exp(-mean);
  let cumulative = probability;
  cdf[0] = cumulative;
  let k = 1;
  for (; k < POISSON_TABLE_LENGTH && cumulative < 1 - 1e-9; k++) {
    probability *= mean * RECIPROCALS[k];
    cumulative += probability;
    cdf[k] = cumulative;
  }
  return k - 1;
}

/** The smallest k with uniform <= cdf[k] (inversion), searched from `start` (the mode); `last` from poissonTable. */
export function poissonFromTable(cdf: Float64Array, last: number, start: number, uniform: number): number {
  let k = start;
  if (uniform > cdf[k]) {
    while (k < last && uniform > cdf[k]) k++;
    return uniform > cdf[k] ? k + 1 : k;
  }
  while (k > 0 && uniform <= cdf[k - 1]) k--;
  return k;
}

/** The skew-corrected rounded normal approximation, clipped at 0; `gaussian` standard normal. */
export function poissonFromNormal(mean: number, spread: number, gaussian: number): number {
  const k = Math.floor(mean + 0.5 + spread * gaussian + (gaussian * gaussian - 1) / 6);
  return k < 0 ? 0 : k;
}
