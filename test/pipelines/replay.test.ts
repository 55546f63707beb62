/**
 * pipelines/replay.ts: a recorded `.ptyd` (written here by the storage sink's writer from simulated frames) goes
 * through chunk and reconstruct again. The replay source is synchronous, which also checks that a chunk acknowledged
 * inside the reconstruction's step cannot start a second iteration beside the running one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PtydWriter } from "../../src/sinks/ptyd-writer";
import { simulatePhysics } from "../../src/sim/physics";
import { chunkFromFrames, Frame } from "../../src/model/scan";
import { testMeta } from "../preprocess/fixtures";
import { startPipelineFile, summaryOf, tempOut } from "./run-cosmic";

jest.setTimeout(120_000);

describe("pipelines/replay.ts", () => {
  it("reconstructs a recorded .ptyd scan and writes the picture", async () => {
    const out = tempOut("replay-");
    const frameSize = 64;
    const truth = simulatePhysics({ seed: 3, frameSize, numPoints: 40, photonsPerFrame: 1e6 });
    const meta = testMeta({ scanId: "recorded", numPoints: 40, positionsM: truth.positionsM, frameShape: [frameSize, frameSize], pixelSizeM: 60e-6, energyEv: 800, distanceM: 0.121 });
    const area = frameSize * frameSize;
    const frames: Frame[] = truth.positionsM.map((positionM, i) => ({
      index: i,
      positionM,
      rows: frameSize,
      cols: frameSize,
      data: truth.intensities.slice(i * area, (i + 1) * area),
      weights: new Uint8Array(area).fill(1),
    }));
    const file = path.join(out, "recorded.ptyd");
    const writer = await PtydWriter.open({ path: file }, meta);
    for (let c = 0; c < 4; c++) writer.append(chunkFromFrames(c, frames.slice(10 * c, 10 * c + 10), meta));
    writer.close();

    const { code, stdout, stderr } = await startPipelineFile("replay", [file, "--iterations", "15", "--chunk", "4", "--credits", "8", "--out", out, "--json"]).done;
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const summary = summaryOf(stdout);
    expect(summary.frames).toMatchObject({ received: 40, points: 40, processed: 40 });
    expect(summary.reconstruction).toMatchObject({ iteration: 20, framesUsed: 40, final: true });
    expect(summary.files).toEqual([path.join(out, "recorded-reconstruction.png")]);
    expect(fs.statSync(summary.files[0]).size).toBeGreaterThan(1000);
  });
});
