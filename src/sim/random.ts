/**
 * Seeded randomness for the simulator. `mulberry32` draws the scene (object features, jitter); the detector's
 * noise and fixed patterns come from precomputed pools (`NoisePools`) read at offsets hashed from (scan seed,
 * frame index, use) with `mixSeed`, so no random number is made per pixel, a frame is cheap to make, and the
 * same (seed, frame index) always gives the same bytes.
 */

/** A 32-bit hash of the integers given (splitmix-style finaliser), for per-frame seeds. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h = (h + 0x9e3779b9) | 0;
  }
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A uniform generator on [0, 1) (mulberry32): fast, 32-bit state, good enough for simulation. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from a uniform generator (Box-Muller, both values used). */
export function gaussianGenerator(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/**
 * Precomputed uniform and standard-normal tables. A frame reads `span` consecutive values from an offset drawn
 * from its own seed, so two frames see independent-looking noise while no random number is made per pixel.
 */
export class NoisePools {
  readonly uniform: Float32Array;
  readonly gaussian: Float32Array;
  /** The extremes of `gaussian`: bounds on anything scaled from it. */
  readonly gaussianMin: number;
  readonly gaussianMax: number;
  private readonly rounded = new Map<string, { table: Uint16Array; bias: number; max: number }>();

  /** `size` distinct starting offsets; each table holds `size + span` values so a read never wraps. */
  constructor(
    seed: number,
    readonly size: number,
    readonly span: number,
  ) {
    this.uniform = new Float32Array(size + span);
    this.gaussian = new Float32Array(size + span);
    // mulberry32 inlined: these tables are millions of values and the closure call would dominate.
    let state = mixSeed(seed, 0x706f6f6c);
    const next = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const uniform = this.uniform;
    for (let i = 0; i < uniform.length; i++) uniform[i] = next();
    // Box-Muller on pairs of the uniform table (read backwards so the two tables are not the same numbers).
    const gaussian = this.gaussian;
    const last = uniform.length - 1;
    for (let i = 0; i + 1 < gaussian.length; i += 2) {
      const radius = Math.sqrt(-2 * Math.log(1 - uniform[last - i]));
      const angle = 2 * Math.PI * uniform[last - i - 1];
      gaussian[i] = radius * Math.cos(angle);
      gaussian[i + 1] = radius * Math.sin(angle);
    }
    if (gaussian.length % 2 === 1) gaussian[gaussian.length - 1] = 0;
    let min = 0;
    let max = 0;
    for (let i = 0; i < gaussian.length; i++) {
      if (gaussian[i] < min) min = gaussian[i];
      if (gaussian[i] > max) max = gaussian[i];
    }
    this.gaussianMin = min;
    this.gaussianMax = max;
  }

  /**
   * The first `length` values of the Gaussian table scaled by `scale` and rounded to integers (ADC read noise),
   * plus `bias` so they fit a Uint16Array: entry = round(scale x g) + bias >= 0; `max` is the largest
   * round(scale x g). Made once per (scale, length).
   */
  roundedGaussian(scale: number, length: number): { table: Uint16Array; bias: number; max: number } {
    if (length > this.gaussian.length) throw new RangeError(`the pool holds ${this.gaussian.length} values, not ${length}`);
    const key = `${scale}:${length}`;
    let entry = this.rounded.get(key);
    if (!entry) {
      const rounded = new Int32Array(length);
      let min = 0;
      let max = 0;
      for (let i = 0; i < length; i++) {
        rounded[i] = Math.floor(scale * this.gaussian[i] + 0.5);
        if (rounded[i] < min) min = rounded[i];
        if (rounded[i] > max) max = rounded[i];
      }
      const table = new Uint16Array(length);
      for (let i = 0; i < length; i++) table[i] = rounded[i] - min;
      entry = { table, bias: -min, max };
      this.rounded.set(key, entry);
    }
    return entry;
  }

  /** An offset in [0, size) for one use (`stream`) of one frame. */
  offset(seed: number, frame: number, stream: number): number {
    return mixSeed(seed, frame, stream) % this.size;
  }
}
