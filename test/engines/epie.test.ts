/**
 * ePIE against the truth. ePIE has no power bound (as PtyPy's stochastic engines), so noise-free it goes on
 * improving: 0.012-0.016 after 30 iterations; bound 0.04. ePIE needs a probe near the truth: from the flat-phase
 * mean-pattern guess it stalls on this defocused annular probe (error ~0.4), so, as PtyPy users chain engines,
 * it starts from the probe of 10 DM iterations (whose own object is still poor, error ~0.6) and a fresh object.
 * With Poisson noise at 1e6 photons per frame the error stays below 0.05 (same noise argument as dm.test.ts).
 */
import { ComplexImage } from "../../src/model/scan";
import { reconstruct, testScan, truthError, TestScan } from "./fixture";

async function dmProbe(scan: TestScan): Promise<ComplexImage> {
  const dm = await reconstruct(scan, { algorithm: "dm" }, 10);
  expect(truthError(scan, dm)).toBeGreaterThan(0.3);
  return dm.snapshot().probe;
}

describe("ePIE (alpha = probe step = 1, beta = object step = 1)", () => {
  it("reconstructs a noise-free scan from a DM probe and a fresh object; the Fourier error falls", async () => {
    const scan = testScan({ photonsPerFrame: 1e6, poisson: false });
    const engine = await reconstruct(scan, { algorithm: "epie" }, 30, { initialProbe: await dmProbe(scan) });
    expect(truthError(scan, engine)).toBeLessThan(0.04);
    expect(engine.errors[29]).toBeLessThan(0.05 * engine.errors[0]);
  });

  it("reconstructs a scan with Poisson noise with frames added in three batches", async () => {
    const scan = testScan({ photonsPerFrame: 1e6, poisson: true });
    const feed = { batches: [[0, 50], [50, 100], [100, 150]] as Array<[number, number]>, between: 5, initialProbe: await dmProbe(scan) };
    const engine = await reconstruct(scan, { algorithm: "epie" }, 20, feed);
    expect(engine.framesUsed).toBe(150);
    expect(truthError(scan, engine)).toBeLessThan(0.05);
    expect(engine.errors[34]).toBeLessThan(0.5 * engine.errors[0]);
  });

  it("is reproducible for a given seed of the visiting order", async () => {
    const scan = testScan({ photonsPerFrame: 1e6, poisson: false });
    const [a, b, c] = (await Promise.all([1, 1, 2].map((seed) => reconstruct(scan, { algorithm: "epie", seed }, 3)))).map((engine) => engine.object.data);
    expect(Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer))).toBe(0);
    expect(Buffer.compare(Buffer.from(a.buffer), Buffer.from(c.buffer))).not.toBe(0);
  });
});
