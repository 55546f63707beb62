/**
 * The main job's configuration defaults as the command line builds them (no process started): the reconstruction
 * stops once settled after the end, within `iterations` in all, and a configuration file or flag can change that.
 */
import { isRight } from "fp-ts/Either";
import { CosmicConfig } from "../../src/pipeline/cosmic-config";
import { RECONSTRUCT_DEFAULTS, commandLine, configFromCommandLine } from "../../pipelines/cosmic";

const fromArgs = (args: string[], file: Record<string, unknown> = {}) => configFromCommandLine(commandLine().parse(["node", "cosmic", ...args]).opts(), file);

describe("pipelines/cosmic.ts defaults", () => {
  it("reconstructs with DM, at most 100 iterations, stopping once the object has settled after at least 8 after the end", () => {
    const config = fromArgs([]);
    expect(config.reconstruct).toEqual({ engine: "dm", iterations: 100, iterationsAfterEnd: 8, settledObjectChange: 2e-3 });
    expect(RECONSTRUCT_DEFAULTS).toEqual({ iterations: 100, iterationsAfterEnd: 8, settledObjectChange: 2e-3 });
    expect(isRight(CosmicConfig.decode(config))).toBe(true);
  });

  it("a flag or the configuration file overrides them; settledObjectChange 0 runs the iterations in all", () => {
    expect(fromArgs(["--iterations", "30", "--engine", "raar"]).reconstruct).toEqual({ engine: "raar", iterations: 30, iterationsAfterEnd: 8, settledObjectChange: 2e-3 });
    const exact = fromArgs([], { reconstruct: { settledObjectChange: 0, iterationsAfterEnd: 20 } });
    expect(exact.reconstruct).toEqual({ engine: "dm", iterations: 100, iterationsAfterEnd: 20, settledObjectChange: 0 });
    expect(isRight(CosmicConfig.decode(exact))).toBe(true);
    expect(isRight(CosmicConfig.decode(fromArgs([], { reconstruct: { settledObjectChange: -1 } })))).toBe(false);
    const ptypyBound = fromArgs([], { reconstruct: { liveFourierRelaxFactor: 0.05 } });
    expect(ptypyBound.reconstruct).toMatchObject({ liveFourierRelaxFactor: 0.05 });
    expect(isRight(CosmicConfig.decode(ptypyBound))).toBe(true);
    expect(isRight(CosmicConfig.decode(fromArgs([], { reconstruct: { liveFourierRelaxFactor: -0.1 } })))).toBe(false);
  });
});
