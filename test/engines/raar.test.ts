/**
 * RAAR against the truth, bounds as for DM (dm.test.ts). beta = 0.9 here: with PtyPy's default 0.75 and the
 * flat-phase probe guess from the mean pattern, RAAR creeps too slowly on this defocused annular probe (error
 * still ~0.5 after 150 iterations), while 0.9 converges in ~40.
 */
import { raarCoefficients } from "../../src/engines/fourier";
import { reconstruct, testScan, truthError } from "./fixture";

describe("RAAR (beta = 0.9)", () => {
  it("uses a = 1 - 2 beta, b = beta, c = 2", () => {
    expect(raarCoefficients(0.9)).toEqual({ a: 1 - 1.8, b: 0.9, c: 2 });
  });

  it("reconstructs a noise-free scan; the Fourier error falls", async () => {
    const scan = testScan({ photonsPerFrame: 1e6, poisson: false });
    const engine = await reconstruct(scan, { algorithm: "raar", beta: 0.9 }, 50);
    expect(truthError(scan, engine)).toBeLessThan(0.08);
    expect(engine.errors[49]).toBeLessThan(0.01 * Math.max(...engine.errors));
  });

  it("reconstructs a scan with Poisson noise, frames added in two batches", async () => {
    const scan = testScan({ photonsPerFrame: 1e6, poisson: true });
    const engine = await reconstruct(scan, { algorithm: "raar", beta: 0.9 }, 50, { batches: [[0, 75], [75, 150]], between: 5 });
    expect(engine.iteration).toBe(60);
    expect(truthError(scan, engine)).toBeLessThan(0.08);
    expect(engine.errors[59]).toBeLessThan(0.1 * Math.max(...engine.errors));
  });
});
