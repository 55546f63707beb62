/**
 * The simulated FCCD's fixed patterns and per-frame rendering (the model is described in ./scan.ts).
 *
 * Rounding is Math.floor(x + 0.5) throughout: Math.round is several times slower in V8's optimised code.
 * Rendering is integer arithmetic on ADU (the ADC's output is integral anyway): per raw pixel
 *   value = clip(base_e + rowDrift_f(row) + channelDrift_f(channel) + readNoise + round(photons x ADU/photon))
 * with base_e the fixed level of exposure e (baseline, static (row, channel) offset, dark level, dark current),
 * a drift drawn per frame per raw row (common mode) and per ADC channel, so every (row, channel) offset drifts.
 * Read noise: each raw row of each frame reads its 1152 values from a small rounded-Gaussian table at an offset
 * hashed from (seed, frame, row); the table stays in cache, which makes rendering memory-light.
 *
 * Speed: where no value can clip without signal (checked once from the pools' extremes), two uint16 pixels are
 * added at once in one int32 (biased lanes never carry), and only the signal region is revisited. Otherwise a
 * plain clipped loop does the same sum.
 */
import { LayoutMaps, layoutMaps } from "../model/layout";
import { frameRole, totalFrames } from "../model/scan";
import { ScanTruth } from "./physics";
import { poissonFromNormal, poissonFromTable, poissonTable, POISSON_NORMAL_ABOVE, POISSON_TABLE_LENGTH } from "./poisson";
import { mixSeed, NoisePools } from "./random";
import type { SimulatorConfig } from "./scan";

const POOL_OFFSETS = 1 << 20;
/** Offsets of the read-noise table: 2^17 two-byte values, about 256 kB, stay in a core's L2 cache. */
const NOISE_ROW_OFFSETS = 1 << 17;

/** Independent uses of the pools within one frame. */
enum Stream {
  ReadNoise = 1,
  RowDrift,
  ChannelDrift,
  PoissonUniform,
  PoissonGaussian,
  StaticOffsets,
  DarkLevel,
  DarkCurrent,
}

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The pools are the costly part of set-up, so one set (from a fixed seed) serves every scan of a raw size; a
 * scan's own seed picks where each frame and each fixed pattern reads from them.
 */
const POOL_SEED = 0x46434344;
const poolCache = new Map<number, NoisePools>();
function poolsFor(span: number): NoisePools {
  let pools = poolCache.get(span);
  if (!pools) {
    if (poolCache.size >= 2) poolCache.delete(poolCache.keys().next().value as number);
    pools = new NoisePools(POOL_SEED, POOL_OFFSETS, span);
    poolCache.set(span, pools);
  }
  return pools;
}

export class FccdModel {
  readonly maps: LayoutMaps;
  readonly centreYX: [number, number];
  readonly regionTopLeftYX: [number, number];
  readonly aduPerPhoton: number;
  readonly rawSize: number;
  readonly regionSize: number;
  /** Raw index of each detector pixel of the bN x bN region, row-major. */
  readonly regionRaw: Int32Array;
  readonly saturation: number;
  private readonly pools: NoisePools;
  /**
   * Integer read noise in ADU, biased by `noiseBias` so it is unsigned: a small table (it stays in cache) from
   * which each raw row of each frame reads its pixels' noise at an offset of its own (`rowNoiseStart`).
   */
  private readonly noise: Uint16Array;
  private readonly noiseBias: number;
  private readonly rowNoiseStart: Int32Array;
  /** Per exposure: baseline + static (row, channel) offset + dark level + dark current x t, raw layout, ADU. */
  private readonly base: Int32Array[];
  private readonly staticOffsets: Float32Array;
  private readonly channelOfColumn: Int32Array;
  private readonly rowDrift: Int32Array;
  private readonly channelDrift: Int32Array;
  private readonly cdf = new Float64Array(POISSON_TABLE_LENGTH);
  private readonly counts: Float32Array;
  private readonly longest: number;
  /** The fast path's state, or undefined where values could clip without signal. */
  private readonly packed?: {
    rowBias: number;
    channelBias: number;
    /** Per exposure, base minus all biases, two uint16 lanes per int32. */
    base: Int32Array[];
    noise: Int32Array;
    columnPairs: Int32Array;
  };
  /** The slow path's unclipped sums. */
  private scratch?: Int32Array;

  /** `allowPacked: false` forces the plain loop (tests compare the two paths). */
  constructor(
    private readonly config: SimulatorConfig,
    private readonly physics: ScanTruth,
    allowPacked = true,
  ) {
    const { layout, binning, frameSize: n, seed } = config;
    this.maps = layoutMaps(layout);
    const [imageRows, imageCols] = this.maps.image;
    const [rawRows, rawCols] = this.maps.raw;
    this.rawSize = rawRows * rawCols;
    const side = binning * n;
    const top = imageRows / 2 - side / 2 + config.centreOffsetYX[0];
    const left = imageCols / 2 - side / 2 + config.centreOffsetYX[1];
    if (!Number.isInteger(top) || !Number.isInteger(left) || top < 0 || left < 0 || top + side > imageRows || left + side > imageCols) {
      throw new Error(
        `simulator: a ${side} x ${side} region (frameSize ${n} x binning ${binning}) offset by (${config.centreOffsetYX.join(", ")}) ` +
          `does not fit the ${imageRows} x ${imageCols} detector image`,
      );
    }
    if (config.readNoiseAdu > 1000) throw new Error(`simulator: readNoiseAdu ${config.readNoiseAdu} is above 1000 ADU`);
    this.regionTopLeftYX = [top, left];
    this.centreYX = [top + side / 2, left + side / 2];
    this.regionSize = side * side;
    this.regionRaw = new Int32Array(this.regionSize);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) this.regionRaw[y * side + x] = this.maps.imageToRaw[(top + y) * imageCols + left + x];
    }
    this.aduPerPhoton = config.gainAduPerEv * config.energyEv;
    this.saturation = Math.floor(config.saturationAdu);
    this.longest = Math.max(...config.exposureTimesS);
    this.counts = new Float32Array(this.regionSize);

    this.pools = poolsFor(this.rawSize + (this.rawSize % 2));
    const { gaussianMin, gaussianMax } = this.pools;
    const readNoise = this.pools.roundedGaussian(config.readNoiseAdu, NOISE_ROW_OFFSETS + rawCols + (rawCols % 2));
    this.noise = readNoise.table;
    this.noiseBias = readNoise.bias;
    this.rowNoiseStart = new Int32Array(rawRows);

    // Fixed patterns, read once from the pools at offsets of their own (frame -1: the scene, not a frame).
    const { gaussian, uniform } = this.pools;
    const channels = layout.channels;
    const stride = layout.dataColumns + layout.overscanColumns;
    this.channelOfColumn = Int32Array.from({ length: rawCols }, (_, column) => Math.floor(column / stride));
    const offsetsStart = this.pools.offset(seed, -1, Stream.StaticOffsets);
    this.staticOffsets = new Float32Array(rawRows * channels);
    for (let k = 0; k < this.staticOffsets.length; k++) {
      this.staticOffsets[k] = config.baselineAdu + config.channelOffsetSpreadAdu * gaussian[offsetsStart + k];
    }
    const darkLevel = new Float32Array(this.rawSize);
    const darkCurrent = new Float32Array(this.rawSize);
    const levelStart = this.pools.offset(seed, -1, Stream.DarkLevel);
    const currentStart = this.pools.offset(seed, -1, Stream.DarkCurrent);
    const imageToRaw = this.maps.imageToRaw;
    for (let k = 0; k < imageToRaw.length; k++) {
      darkLevel[imageToRaw[k]] = Math.max(0, config.darkLevelAdu + config.darkLevelSpreadAdu * gaussian[levelStart + k]);
      darkCurrent[imageToRaw[k]] = config.darkCurrentAduPerS * (0.5 + uniform[currentStart + k]);
    }
    this.base = config.exposureTimesS.map((exposureS) => {
      const base = new Int32Array(this.rawSize);
      for (let row = 0, i = 0; row < rawRows; row++) {
        for (let column = 0; column < rawCols; column++, i++) {
          const offset = this.staticOffsets[row * channels + this.channelOfColumn[column]];
          base[i] = Math.floor(offset + darkLevel[i] + darkCurrent[i] * exposureS + 0.5);
        }
      }
      return base;
    });
    this.rowDrift = new Int32Array(rawRows);
    this.channelDrift = new Int32Array(channels);

    // The fast path needs every signal-free value inside [0, saturation) whatever the pools give.
    const rowBias = Math.ceil(config.rowDriftAdu * Math.max(-gaussianMin, gaussianMax));
    const channelBias = Math.ceil(config.adcDriftAdu * Math.max(-gaussianMin, gaussianMax));
    const noiseSpan = readNoise.max + this.noiseBias;
    let baseMin = Infinity;
    let baseMax = -Infinity;
    for (const base of this.base) {
      for (let i = 0; i < base.length; i++) {
        if (base[i] < baseMin) baseMin = base[i];
        if (base[i] > baseMax) baseMax = base[i];
      }
    }
    const fits = baseMin - this.noiseBias - rowBias - channelBias >= 0 && baseMax + noiseSpan - this.noiseBias + rowBias + channelBias < this.saturation;
    if (allowPacked && fits && hostIsLittleEndian && rawCols % 2 === 0) {
      const bias = this.noiseBias + rowBias + channelBias;
      this.packed = {
        rowBias,
        channelBias,
        base: this.base.map((base) => {
          const lanes = new Uint16Array(base.length);
          for (let i = 0; i < base.length; i++) lanes[i] = base[i] - bias;
          return new Int32Array(lanes.buffer);
        }),
        noise: new Int32Array(this.noise.buffer, 0, this.noise.length >> 1),
        columnPairs: new Int32Array(rawCols / 2),
      };
    }
  }

  /** Fills `rowDrift` and `channelDrift` (whole ADU) and `rowNoiseStart` (even) for frame `index`. */
  private drawDrift(index: number): void {
    const { seed, adcDriftAdu, rowDriftAdu } = this.config;
    for (let row = 0; row < this.rowNoiseStart.length; row++) {
      this.rowNoiseStart[row] = (mixSeed(seed, index, Stream.ReadNoise, row) % NOISE_ROW_OFFSETS) & ~1;
    }
    const gaussian = this.pools.gaussian;
    const rowStart = this.pools.offset(seed, index, Stream.RowDrift);
    const channelStart = this.pools.offset(seed, index, Stream.ChannelDrift);
    for (let row = 0; row < this.rowDrift.length; row++) this.rowDrift[row] = Math.floor(rowDriftAdu * gaussian[rowStart + row] + 0.5);
    for (let ch = 0; ch < this.channelDrift.length; ch++) this.channelDrift[ch] = Math.floor(adcDriftAdu * gaussian[channelStart + ch] + 0.5);
  }

  /** The (raw row, channel) offsets of frame `index`, (rawRows, channels). */
  adcOffsets(index: number): Float32Array {
    this.drawDrift(index);
    const channels = this.config.layout.channels;
    return this.staticOffsets.map((offset, k) => offset + this.rowDrift[Math.floor(k / channels)] + this.channelDrift[k % channels]);
  }

  /** Expected dark of exposure `exposure` on the detector image: the frame without drift, noise or signal. */
  expectedDark(exposure: number): Float32Array {
    const base = this.base[exposure];
    if (!base) throw new RangeError(`no exposure ${exposure}: the scan has ${this.base.length}`);
    return Float32Array.from(this.maps.imageToRaw, (raw) => base[raw]);
  }

  /** Renders raw frame `index` into `out`; `countsOut` (bN x bN) receives the photons drawn, if given. */
  render(index: number, out: Uint16Array, countsOut?: Float32Array): void {
    if (out.length !== this.rawSize) throw new Error(`expected a raw buffer of ${this.rawSize} pixels, got ${out.length}`);
    const role = frameRole(this.config, index);
    if (!Number.isInteger(index) || index < 0 || role.kind === "beyond") {
      throw new RangeError(`frame ${index} is not in the scan's ${totalFrames(this.config)} frames`);
    }
    this.drawDrift(index);
    const counts = countsOut ?? this.counts;
    if (role.kind === "exposure") {
      this.drawPhotons(index, role.point, this.config.exposureTimesS[role.exposure] / this.longest, counts);
    }
    if (this.packed && out.byteOffset % 4 === 0) {
      this.renderPacked(role.exposure, out);
      if (role.kind === "exposure") addSignal(out, this.regionRaw, counts, this.aduPerPhoton, this.saturation);
      return;
    }
    const sums = (this.scratch ??= new Int32Array(this.rawSize));
    this.renderSums(role.exposure, sums);
    if (role.kind === "exposure") addSignal(sums, this.regionRaw, counts, this.aduPerPhoton, Infinity);
    const saturation = this.saturation;
    for (let i = 0; i < sums.length; i++) {
      const value = sums[i];
      out[i] = value <= 0 ? 0 : value >= saturation ? saturation : value;
    }
  }

  /** Two pixels per int32: the biased lanes are non-negative and sum below 2^16, so they never carry. */
  private renderPacked(exposure: number, out: Uint16Array): void {
    const packed = this.packed!;
    const base = packed.base[exposure];
    const noise = packed.noise;
    const columnPairs = packed.columnPairs;
    const channelOfColumn = this.channelOfColumn;
    for (let pair = 0; pair < columnPairs.length; pair++) {
      const low = this.channelDrift[channelOfColumn[2 * pair]] + packed.channelBias;
      const high = this.channelDrift[channelOfColumn[2 * pair + 1]] + packed.channelBias;
      columnPairs[pair] = low | (high << 16);
    }
    const out32 = new Int32Array(out.buffer, out.byteOffset, out.length >> 1);
    const rowDrift = this.rowDrift;
    const rowBias = packed.rowBias;
    const pairs = columnPairs.length;
    const rowNoiseStart = this.rowNoiseStart;
    let j = 0;
    for (let row = 0; row < rowDrift.length; row++) {
      const drift = (rowDrift[row] + rowBias) * 0x10001;
      const noiseOffset = rowNoiseStart[row] >> 1;
      let pair = 0;
      // Unrolled by four: about a quarter faster in V8, which does not unroll on its own.
      for (; pair + 3 < pairs; pair += 4, j += 4) {
        out32[j] = (base[j] + drift + columnPairs[pair] + noise[noiseOffset + pair]) | 0;
        out32[j + 1] = (base[j + 1] + drift + columnPairs[pair + 1] + noise[noiseOffset + pair + 1]) | 0;
        out32[j + 2] = (base[j + 2] + drift + columnPairs[pair + 2] + noise[noiseOffset + pair + 2]) | 0;
        out32[j + 3] = (base[j + 3] + drift + columnPairs[pair + 3] + noise[noiseOffset + pair + 3]) | 0;
      }
      for (; pair < pairs; pair++, j++) out32[j] = (base[j] + drift + columnPairs[pair] + noise[noiseOffset + pair]) | 0;
    }
  }

  /** The same sum, unpacked and unclipped. */
  private renderSums(exposure: number, sums: Int32Array): void {
    const base = this.base[exposure];
    const { noise, noiseBias, rowDrift, channelDrift, channelOfColumn, rowNoiseStart } = this;
    const rawCols = this.maps.raw[1];
    let i = 0;
    for (let row = 0; row < rowDrift.length; row++) {
      const noiseStart = rowNoiseStart[row];
      for (let column = 0; column < rawCols; column++, i++) {
        sums[i] = base[i] + rowDrift[row] + channelDrift[channelOfColumn[column]] + noise[noiseStart + column] - noiseBias;
      }
    }
  }

  /** Poisson photons for every detector pixel of the region (see ./poisson.ts), into `counts`. */
  private drawPhotons(index: number, point: number, exposureScale: number, counts: Float32Array): void {
    const { binning: b, frameSize: n, seed } = this.config;
    const side = b * n;
    const intensities = this.physics.intensities;
    const frameStart = point * n * n;
    const perDetectorPixel = exposureScale / (b * b);
    const { uniform, gaussian } = this.pools;
    const cdf = this.cdf;
    let u = this.pools.offset(seed, index, Stream.PoissonUniform);
    let g = this.pools.offset(seed, index, Stream.PoissonGaussian);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const mean = intensities[frameStart + r * n + c] * perDetectorPixel;
        if (mean > POISSON_NORMAL_ABOVE) {
          const spread = Math.sqrt(mean);
          for (let dy = 0; dy < b; dy++) {
            let d = (r * b + dy) * side + c * b;
            for (let dx = 0; dx < b; dx++, d++) counts[d] = poissonFromNormal(mean, spread, gaussian[g++]);
          }
        } else {
          const last = poissonTable(mean, cdf);
          const mode = Math.min(Math.floor(mean), last);
          for (let dy = 0; dy < b; dy++) {
            let d = (r * b + dy) * side + c * b;
            for (let dx = 0; dx < b; dx++, d++) counts[d] = poissonFromTable(cdf, last, mode, uniform[u++]);
          }
        }
      }
    }
  }

  /** Photons actually drawn, long-exposure equivalent and binned: see `SimulatedTruth.drawnCounts`. */
  drawnCounts(): { counts: Float32Array; valid: Uint8Array } {
    const { binning: b, frameSize: n, numPoints, exposureTimesS, darksPerExposure } = this.config;
    const side = b * n;
    const raw = new Uint16Array(this.rawSize);
    const perExposure = exposureTimesS.map(() => new Float32Array(this.regionSize));
    const unsaturated = exposureTimesS.map(() => new Uint8Array(this.regionSize));
    // Longest first: HDR prefers the longest unsaturated exposure.
    const order = exposureTimesS.map((time, e) => ({ time, e })).sort((x, y) => y.time - x.time);
    const counts = new Float32Array(numPoints * n * n);
    const valid = new Uint8Array(numPoints * n * n);
    const detectorCounts = new Float32Array(this.regionSize);
    const detectorValid = new Uint8Array(this.regionSize);
    for (let point = 0; point < numPoints; point++) {
      exposureTimesS.forEach((_, e) => {
        this.render(darksPerExposure * exposureTimesS.length + point * exposureTimesS.length + e, raw, perExposure[e]);
        for (let d = 0; d < this.regionSize; d++) unsaturated[e][d] = raw[this.regionRaw[d]] < this.saturation ? 1 : 0;
      });
      for (let d = 0; d < this.regionSize; d++) {
        const chosen = order.find(({ e }) => unsaturated[e][d] === 1) ?? order[order.length - 1];
        detectorCounts[d] = perExposure[chosen.e][d] * (this.longest / chosen.time);
        detectorValid[d] = unsaturated[chosen.e][d];
      }
      const frame = point * n * n;
      binBlocks(detectorCounts, detectorValid, side, b, counts.subarray(frame, frame + n * n), valid.subarray(frame, frame + n * n));
    }
    return { counts, valid };
  }
}

/** Adds the photons' ADU to the region's raw values, clipping at `saturation`. */
function addSignal(values: Uint16Array | Int32Array, regionRaw: Int32Array, counts: Float32Array, aduPerPhoton: number, saturation: number): void {
  for (let d = 0; d < regionRaw.length; d++) {
    const raw = regionRaw[d];
    const value = values[raw] + Math.floor(counts[d] * aduPerPhoton + 0.5);
    values[raw] = value >= saturation ? saturation : value;
  }
}

/** Sums b x b blocks of a (side x side) image; a block is valid only if all its pixels are. */
function binBlocks(values: Float32Array, valid: Uint8Array, side: number, b: number, out: Float32Array, outValid: Uint8Array): void {
  const n = side / b;
  out.fill(0);
  outValid.fill(1);
  for (let y = 0; y < side; y++) {
    const row = Math.floor(y / b) * n;
    for (let x = 0; x < side; x++) {
      const target = row + Math.floor(x / b);
      out[target] += values[y * side + x];
      if (valid[y * side + x] === 0) outValid[target] = 0;
    }
  }
}
