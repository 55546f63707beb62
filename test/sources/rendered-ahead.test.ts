/**
 * `renderedAhead` (the frameserver's --render-ahead): the scan it serves is the simulator's, frame for frame and
 * byte for byte, and the frames are rendered before serving starts, not while it runs.
 */
import { simulateScan } from "../../src/sim/scan";
import { SMALL_LAYOUT } from "../../src/model/layout";
import { RawScanSource, renderedAhead } from "../../src/sources/frameserver-server";

describe("renderedAhead", () => {
  const sim = simulateScan({ numPoints: 6, frameSize: 32, darksPerExposure: 1, seed: 3, scanId: "ahead", layout: SMALL_LAYOUT });

  it("serves the simulator's frames byte for byte, rendering each once before serving", () => {
    let rendered = 0;
    const counting: RawScanSource = { start: sim.start, frame: (index) => (rendered++, sim.frame(index)) };
    const ahead = renderedAhead(counting, 0, sim.totalFrames);
    expect(rendered).toBe(sim.totalFrames);
    expect(ahead.start).toBe(sim.start);
    for (let index = 0; index < sim.totalFrames; index++) {
      const expected = sim.frame(index);
      const served = ahead.frame(index);
      expect(served.index).toBe(index);
      expect(Buffer.from(served.data.buffer, served.data.byteOffset, served.data.byteLength)).toEqual(
        Buffer.from(expected.data.buffer, expected.data.byteOffset, expected.data.byteLength),
      );
    }
    expect(rendered).toBe(sim.totalFrames);
  });

  it("renders only the range it serves (a resumed scan), and the rest on demand", () => {
    let rendered = 0;
    const ahead = renderedAhead({ start: sim.start, frame: (index) => (rendered++, sim.frame(index)) }, 4, 8);
    expect(rendered).toBe(4);
    expect(ahead.frame(5).index).toBe(5);
    expect(rendered).toBe(4);
    expect(ahead.frame(0).index).toBe(0);
    expect(rendered).toBe(5);
  });
});
