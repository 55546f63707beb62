/**
 * The embedded default source: the simulator served by `pipelines/frameserver.ts` as its own process on loopback,
 * so the pipeline reads real ZeroMQ sockets exactly as at the beamline, and the simulator has its own core.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";

export interface SimulatedFrameserverOptions {
  points: number;
  seed: number;
  frameSize: number;
  darks: number;
  /** Frames per second (default: as fast as the pipeline reads). */
  rateHz?: number;
  /** Frames on basePort, scan control on basePort + 1, monitor on basePort + 2 (all on 127.0.0.1). */
  basePort: number;
  scanId?: string;
  /** Render every frame before serving (`pipelines/frameserver.ts --render-ahead`): serving then costs only the sends. */
  renderAhead?: boolean;
  /** Where the frameserver's own log lines go (default: dropped, they would garble the progress line). */
  log?: (line: string) => void;
}

export interface SimulatedFrameserver {
  frames: string;
  control: string;
  monitor: string;
  /** Resolves with the exit code once the frameserver has served the scan and exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const PROJECT_ROOT = path.join(__dirname, "..", "..");

export function startSimulatedFrameserver(options: SimulatedFrameserverOptions): SimulatedFrameserver {
  const address = (offset: number) => `tcp://127.0.0.1:${options.basePort + offset}`;
  const [frames, control, monitor] = [address(0), address(1), address(2)];
  const args = [
    require.resolve("ts-node/dist/bin.js"),
    path.join(PROJECT_ROOT, "pipelines", "frameserver.ts"),
    ...["--points", String(options.points), "--seed", String(options.seed), "--frame-size", String(options.frameSize)],
    ...["--darks", String(options.darks), "--frames", frames, "--control", control, "--monitor", monitor],
    ...(options.rateHz !== undefined ? ["--rate", String(options.rateHz)] : []),
    ...(options.scanId !== undefined ? ["--scan-id", options.scanId] : []),
    ...(options.renderAhead ? ["--render-ahead"] : []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => text.split("\n").filter(Boolean).forEach((line) => options.log?.(line)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => resolve(code));
  });
  return {
    frames,
    control,
    monitor,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited.catch(() => null);
    },
  };
}
