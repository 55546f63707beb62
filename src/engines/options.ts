/**
 * Engine configuration, validated at the edge (io-ts) and typed inside. Defaults follow PtyPy's engines, except
 * RAAR's beta (0.9) and the object inertia (1), see below.
 *
 * alpha / beta: DM's alpha and RAAR's beta are PtyPy's. For ePIE this project follows PtyPy's *code*
 * (engines/stochastic.py), which is the reverse of PtyPy's parameter docs: `alpha` is the probe step and `beta`
 * the object step, O += beta P* (psi' - psi) / max|P|^2 and P += alpha O* (psi' - psi) / max|O|^2.
 */
import * as t from "io-ts";
import { FiniteNumber, NonNegativeInteger, NonNegativeNumber, PositiveInteger, decodeOrThrow } from "../model/codec";

export const Algorithm = t.keyof({ dm: null, raar: null, epie: null }, "Algorithm");
export type Algorithm = t.TypeOf<typeof Algorithm>;

export const EngineOptionsCodec = t.intersection(
  [
    t.type({ algorithm: Algorithm }),
    t.partial({
      /** DM: mix between alternating projections (0) and difference map (1). ePIE: probe step. */
      alpha: NonNegativeNumber,
      /** RAAR: relaxation. ePIE: object step. */
      beta: NonNegativeNumber,
      /** Iterations with the probe held fixed before it is updated too. */
      probeUpdateStart: NonNegativeInteger,
      /** Power bound = 0.25 x factor^2 x max frame photons / N^2; 0 turns the relaxation off. */
      fourierRelaxFactor: NonNegativeNumber,
      /** Weight of the current object in the DM/RAAR update, times the mean photons per pixel. */
      objectInertia: NonNegativeNumber,
      /** Weight of the current probe in the DM/RAAR update, times the number of frames. */
      probeInertia: NonNegativeNumber,
      /** Inner object/probe refinement loop of DM/RAAR: at most this many passes ... */
      overlapMaxIterations: PositiveInteger,
      /** ... stopping once the relative probe change falls below this. */
      overlapConvergeFactor: NonNegativeNumber,
      /**
       * Sample distance from the probe's focus (metres, > 0 downstream): the probe guess is the mean-pattern pupil
       * propagated there (PtyPy's illumination.propagation.parallel); 0 guesses the probe in focus.
       */
      probeDefocusM: FiniteNumber,
      /** Probe support: a centred disc holding this fraction of the frame area; null for none. */
      probeSupport: t.union([NonNegativeNumber, t.null]),
      /** Seed of ePIE's random visiting order. */
      seed: NonNegativeInteger,
      /** DM/RAAR frame partitions, reduced in fixed order (threads take one each). */
      partitions: PositiveInteger,
      /**
       * ePIE only: iterations of DM (PtyPy's defaults) first, then ePIE from DM's probe and a fresh object
       * (engines/epie-from-dm.ts). ePIE stalls from the flat-phase mean-pattern probe on a defocused annular probe
       * (error ~0.4); 10 DM iterations give it a probe it converges from. 0 (PtyPy's behaviour) runs plain ePIE.
       * On the default 128 x 128 scan, whose in-focus guess is ten times smaller than the probe, 10 are not
       * enough (0.44 after 100 iterations) unless the guess is propagated (`probeDefocusM`: 0.014).
       */
      warmUpDmIterations: NonNegativeInteger,
    }),
  ],
  "EngineOptions",
);
export type EngineOptionsInput = t.TypeOf<typeof EngineOptionsCodec>;
export type EngineOptions = Required<EngineOptionsInput>;

export function engineOptions(input: unknown): EngineOptions {
  const given = decodeOrThrow(EngineOptionsCodec, input, "engine options");
  const epie = given.algorithm === "epie";
  return {
    alpha: 1,
    // RAAR: 0.9, not PtyPy's 0.75. From the flat-phase mean-pattern probe on the simulator's defocused annular
    // probe (150 frames of 64 x 64, Poisson at 1e6 photons), the error against the truth after 20/60/120
    // iterations was 0.52/0.49/0.42 at 0.75, 0.50/0.40/0.05 at 0.8, 0.49/0.05/0.04 at 0.85, 0.46/0.04/0.04 at 0.9.
    beta: epie ? 1 : 0.9,
    probeUpdateStart: 2,
    // PtyPy's stochastic engines (ePIE) call the Fourier update without a power bound.
    fourierRelaxFactor: epie ? 0 : 0.05,
    // 1, not PtyPy's 1e-4. The weight is then the mean photons per detector pixel: an object pixel moves only as
    // far as a probe spread evenly over the whole frame would move it, so pixels the probe barely reaches are held
    // instead of set to noise / (almost nothing). That matters when the probe guess is far smaller than the probe
    // (the in-focus guess of a defocused zone plate, probe.ts): on the default scan (128 x 128, 100 points, 8-px
    // steps, Poisson and HDR counts) the error against the truth after 100 DM iterations was 0.71 at 1e-4 and
    // 0.01, 0.038 at 0.1, 0.017 at 1, 0.019 at 3 and 0.54 at 10 (too stiff to follow the growing probe). The fixed
    // point is the same whatever the inertia.
    objectInertia: 1,
    probeInertia: 1e-9,
    overlapMaxIterations: 10,
    overlapConvergeFactor: 0.05,
    probeDefocusM: 0,
    probeSupport: 0.7,
    seed: 1,
    partitions: 1,
    warmUpDmIterations: 0,
    ...given,
  };
}
