/**
 * DM against the truth. Bounds: with noise-free data the only systematic limit is PtyPy's power bound
 * (fourier_relax_factor 0.05), which stops correcting a frame once its rms modulus deviation is below
 * 0.025 x sqrt(max frame photons) / N, a few per cent of the rms modulus: the object error settles near 0.03
 * here, so 0.06 leaves room for machine noise yet fails on any real mistake (a wrong sign or conjugate gives
 * > 0.3). With Poisson noise at 1e6 photons per frame the modulus noise (0.5 per pixel) is about 3 % of the rms
 * modulus, averaged over ~14 overlapping views per object pixel: the error stays near 0.03-0.04; bound 0.07.
 */
import { createEngine } from "../../src/engines";
import { ProjectionEngine } from "../../src/engines/projection";
import { batchOf, reconstruct, testScan, truthError } from "./fixture";

describe("DM (alpha = 1)", () => {
  it("reconstructs a noise-free scan from the mean-pattern probe; the Fourier error falls", async () => {
    const scan = testScan({ photonsPerFrame: 1e6, poisson: false });
    const engine = await reconstruct(scan, { algorithm: "dm" }, 40);
    expect(truthError(scan, engine)).toBeLessThan(0.06);
    expect(engine.errors).toHaveLength(40);
    expect(engine.errors[39]).toBeLessThan(0.01 * engine.errors[0]);
  });

  it("reconstructs a scan with Poisson noise", async () => {
    const scan = testScan({ photonsPerFrame: 1e6, poisson: true });
    const engine = await reconstruct(scan, { algorithm: "dm" }, 50);
    expect(truthError(scan, engine)).toBeLessThan(0.07);
    // The DM wave's error first rises while the probe adapts, then falls well below its peak.
    expect(engine.errors[49]).toBeLessThan(0.25 * Math.max(...engine.errors));
  });

  it("frames added in batches between iterations reach the quality of all frames at once", async () => {
    const scan = testScan({ photonsPerFrame: 1e6, poisson: false });
    const batched = await reconstruct(scan, { algorithm: "dm" }, 30, { batches: [[0, 50], [50, 100], [100, 150]], between: 10 });
    expect(batched.framesUsed).toBe(150);
    expect(batched.iteration).toBe(60);
    expect(truthError(scan, batched)).toBeLessThan(0.06);
  });

  it("splitting frames over partitions (fixed-order reduction) changes the result only by rounding", async () => {
    const scan = testScan({ photonsPerFrame: 1e6, poisson: false });
    const feed = { batches: [[0, 100], [100, 150]] as Array<[number, number]> };
    const one = await reconstruct(scan, { algorithm: "dm" }, 5, feed);
    const three = await reconstruct(scan, { algorithm: "dm", partitions: 3 }, 5, feed);
    let difference = 0;
    let power = 0;
    for (let k = 0; k < one.object.data.length; k++) {
      difference += (one.object.data[k] - three.object.data[k]) ** 2;
      power += one.object.data[k] ** 2;
    }
    expect(Math.sqrt(difference / power)).toBeLessThan(1e-4);
    expect(three.errors[4]).toBeCloseTo(one.errors[4], 3);
  });

  it("a relax factor set between iterations acts as the same factor given in the options", async () => {
    const scan = testScan({ photonsPerFrame: 1e6, poisson: true });
    const given = await reconstruct(scan, { algorithm: "dm", fourierRelaxFactor: 0.02 }, 6);
    const set = createEngine({ algorithm: "dm" }, scan.setup) as ProjectionEngine;
    expect(set.fourierRelaxFactor).toBe(0.05);
    set.setFourierRelaxFactor(0.02);
    set.addFrames(batchOf(scan));
    await set.iterate(6);
    expect(Array.from(set.object.data)).toEqual(Array.from(given.object.data));
    // A looser bound leaves the object elsewhere: the factor is really used.
    const loose = await reconstruct(scan, { algorithm: "dm" }, 6);
    expect(Array.from(loose.object.data)).not.toEqual(Array.from(given.object.data));
    expect(() => set.setFourierRelaxFactor(-1)).toThrow(/relax factor/);
  });
});
