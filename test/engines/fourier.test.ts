import { FourierProjector, PROJECTION_COEFFICIENTS, dmCoefficients } from "../../src/engines/fourier";
import { FFT2D } from "../../src/numerics/fft2d";
import { mulberry32 } from "../../src/sim/random";

const N = 8;
const AREA = N * N;

function randomArray(length: number, seed: number, scale = 1): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length }, () => scale * (2 * random() - 1));
}

/** Unitary far-field moduli |F x| / N. */
function farFieldModuli(wave: ArrayLike<number>): Float64Array {
  const data = Float64Array.from(wave);
  new FFT2D(N, N).forward(data);
  return Float64Array.from({ length: AREA }, (_, k) => Math.hypot(data[2 * k], data[2 * k + 1]) / N);
}

function setup(seed: number) {
  const projector = new FourierProjector(N);
  projector.product.set(randomArray(2 * AREA, seed));
  const moduli = Float32Array.from(randomArray(AREA, seed + 1), (v) => 2 + v);
  const masks = Uint8Array.from({ length: AREA }, (_, k) => (k % 7 === 3 ? 0 : 1));
  const validCount = masks.reduce((s, m) => s + m, 0);
  const exit = Float32Array.from(randomArray(2 * AREA, seed + 2));
  return { projector, moduli, masks, validCount, exit };
}

describe("the shared exit-wave algebra", () => {
  it("DM and RAAR coefficients follow PtyPy", () => {
    expect(dmCoefficients(1)).toEqual({ a: -1, b: 1, c: 2 });
    expect(dmCoefficients(0)).toEqual({ a: -0, b: 1, c: 1 });
  });

  it("the plain projection puts the measured modulus on valid pixels and keeps it on masked ones", () => {
    const { projector, moduli, masks, validCount } = setup(1);
    const psi = new Float32Array(2 * AREA);
    const before = farFieldModuli(projector.product);
    const error = projector.update(psi, 0, moduli, masks, 0, validCount, PROJECTION_COEFFICIENTS, 0);
    const after = farFieldModuli(psi);
    let expectedError = 0;
    for (let k = 0; k < AREA; k++) {
      if (masks[k]) {
        expect(after[k]).toBeCloseTo(moduli[k], 4);
        expectedError += (before[k] - moduli[k]) ** 2;
      } else {
        expect(after[k]).toBeCloseTo(before[k], 4);
      }
    }
    expect(error).toBeCloseTo(expectedError / validCount, 10);
  });

  it("DM is psi + P_F(2 P O - psi) - P O", () => {
    const { projector, moduli, masks, validCount, exit } = setup(2);
    const product = projector.product.slice();
    const reflected = new Float32Array(2 * AREA);
    projector.product.set(product.map((v, k) => 2 * v - exit[k]));
    projector.update(reflected, 0, moduli, masks, 0, validCount, PROJECTION_COEFFICIENTS, 0);
    projector.product.set(product);
    const psi = exit.slice();
    projector.update(psi, 0, moduli, masks, 0, validCount, dmCoefficients(1), 0);
    for (let k = 0; k < 2 * AREA; k++) expect(psi[k]).toBeCloseTo(exit[k] + reflected[k] - product[k], 4);
  });

  it("within the power bound the Fourier constraint is the identity (DM then gives P O)", () => {
    const { projector, moduli, masks, validCount, exit } = setup(3);
    const psi = exit.slice();
    projector.update(psi, 0, moduli, masks, 0, validCount, dmCoefficients(1), 1e9);
    for (let k = 0; k < 2 * AREA; k++) expect(psi[k]).toBeCloseTo(projector.product[k], 5);
  });

  it("above the power bound only part of the deviation is removed: sqrt(bound / error) of it remains", () => {
    const { projector, moduli, masks, validCount } = setup(4);
    const before = farFieldModuli(projector.product);
    const psi = new Float32Array(2 * AREA);
    const unbounded = projector.update(new Float32Array(2 * AREA), 0, moduli, masks, 0, validCount, PROJECTION_COEFFICIENTS, 0);
    const bound = unbounded / 9;
    projector.update(psi, 0, moduli, masks, 0, validCount, PROJECTION_COEFFICIENTS, bound);
    const after = farFieldModuli(psi);
    for (let k = 0; k < AREA; k++) {
      if (masks[k]) expect(after[k]).toBeCloseTo(moduli[k] + (before[k] - moduli[k]) / 3, 4);
    }
  });
});
