import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PNG } from "pngjs";
import { Snapshot } from "../../src/model/scan";
import { cyclic, reconstructionImage, viridis, writeReconstructionPng } from "../../src/sinks/png";

const ROWS = 40;
const COLS = 50;

/** Amplitude rising from 0.2 (left) to 1 (right); phase 0, except pi/2 in a patch on the dim side. */
function snapshot(): Snapshot {
  const data = new Float32Array(2 * ROWS * COLS);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      const amplitude = 0.2 + (0.8 * c) / (COLS - 1);
      const phase = r >= 10 && r < 20 && c >= 5 && c < 15 ? Math.PI / 2 : 0;
      data[2 * (r * COLS + c)] = amplitude * Math.cos(phase);
      data[2 * (r * COLS + c) + 1] = amplitude * Math.sin(phase);
    }
  }
  const probe = { rows: 4, cols: 4, data: new Float32Array(32) };
  return { iteration: 3, framesUsed: 1, error: 0, object: { rows: ROWS, cols: COLS, data }, probe, objectPixelSizeM: [1e-8, 1e-8], final: true };
}

function pixel(image: { width: number; data: Uint8Array | Buffer }, x: number, y: number): number[] {
  const k = 4 * (y * image.width + x);
  return [image.data[k], image.data[k + 1], image.data[k + 2]];
}

describe("reconstruction PNG", () => {
  it("puts amplitude (viridis over its range) and phase (cyclic, referred to the bright part) side by side", () => {
    const image = reconstructionImage(snapshot());
    expect(image.width).toBe(2 * COLS + 8);
    expect(image.height).toBeGreaterThan(ROWS + 12);
    expect(pixel(image, 0, 0)).toEqual(viridis(0));
    expect(pixel(image, COLS - 1, 0)).toEqual(viridis(1));
    const phaseLeft = COLS + 8;
    // Phase 0 is the middle of [-pi, pi); the patch at pi/2 sits three quarters along.
    expect(pixel(image, phaseLeft + 30, 30)).toEqual(cyclic(0.5));
    expect(pixel(image, phaseLeft + 10, 15)).toEqual(cyclic(0.75));
    // The colour bars run the maps from end to end under each panel.
    expect(pixel(image, 0, ROWS + 6)).toEqual(viridis(0));
    expect(pixel(image, COLS - 1, ROWS + 6)).toEqual(viridis(1));
  });

  it("writes a PNG file that decodes to the same picture", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "recon-png-"));
    const file = path.join(dir, "object.png");
    try {
      await writeReconstructionPng(file, snapshot());
      const decoded = PNG.sync.read(fs.readFileSync(file));
      const image = reconstructionImage(snapshot());
      expect([decoded.width, decoded.height]).toEqual([image.width, image.height]);
      expect(Buffer.compare(decoded.data, Buffer.from(image.data))).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
