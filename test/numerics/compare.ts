/** Comparisons the numerics and engine tests share. */

/** ||a - b|| / ||a|| over two equally long arrays. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let difference = 0;
  let power = 0;
  for (let k = 0; k < a.length; k++) {
    difference += (a[k] - b[k]) ** 2;
    power += a[k] ** 2;
  }
  return Math.sqrt(difference / power);
}
