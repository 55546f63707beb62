/**
 * `runPipeline`: decodes the configuration (readable errors, exit 2), runs the dataflow with a progress display,
 * drains on SIGINT/SIGTERM (stop reading, finish in-flight chunks, close files, print the summary, exit 130/143),
 * and ends with a summary: plain lines, or with `json` one JSON line.
 */
import { lastValueFrom } from "rxjs";
import { decodeEither } from "../model/codec";
import { PipelineContext } from "./context";
import { Pipeline } from "./define";
import { ProgressDisplay } from "./progress";
import { RunSummary, summarize, summaryLines } from "./summary";

export interface RunOptions {
  /** End with one JSON line (the summary) on stdout. */
  json?: boolean;
  /** Show progress (default: on a terminal, a redrawn line; otherwise a plain line every few seconds). */
  progress?: boolean;
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals?: boolean;
  context?: PipelineContext;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_INVALID_CONFIG = 2;
const EXIT_ON_SIGNAL: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export interface RunResult {
  exitCode: number;
  summary?: RunSummary;
}

export async function runPipeline<C, S>(pipeline: Pipeline<C, S>, rawConfig: unknown, options: RunOptions = {}): Promise<RunResult> {
  const decoded = decodeEither(pipeline.config, rawConfig);
  if (!decoded.ok) {
    process.stderr.write(`${pipeline.name}: invalid configuration:\n  ${decoded.problems.join("\n  ")}\n`);
    return { exitCode: EXIT_INVALID_CONFIG };
  }
  const config = decoded.value;
  const context = options.context ?? new PipelineContext();
  const signalHandlers: Array<[NodeJS.Signals, () => void]> = [];
  if (options.handleSignals !== false) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const handler = () => {
        if (context.stopReason !== undefined) {
          process.stderr.write(`${pipeline.name}: second ${signal}, exiting at once\n`);
          process.exit(EXIT_ON_SIGNAL[signal]);
        }
        context.requestStop(signal);
      };
      process.on(signal, handler);
      signalHandlers.push([signal, handler]);
    }
  }
  const progress = options.progress === false ? undefined : new ProgressDisplay(context, { interactive: Boolean(process.stderr.isTTY) });
  let failure: unknown;
  let teardown: (() => Promise<void>) | void = undefined;
  try {
    teardown = await pipeline.setup?.(config, context);
    progress?.start();
    await lastValueFrom(pipeline.dataflow(config, context), { defaultValue: undefined });
  } catch (error) {
    failure = error;
  } finally {
    progress?.stop();
    try {
      await teardown?.();
    } catch (error) {
      failure ??= error;
    }
    signalHandlers.forEach(([signal, handler]) => process.off(signal, handler));
  }
  const exitCode = failure !== undefined ? EXIT_FAILED : context.stopReason !== undefined ? (EXIT_ON_SIGNAL[context.stopReason] ?? EXIT_FAILED) : EXIT_OK;
  const summary = summarize(pipeline.name, context, exitCode, failure);
  if (failure !== undefined) process.stderr.write(`${pipeline.name}: failed: ${summary.error}\n`);
  if (options.json) process.stdout.write(JSON.stringify(summary) + "\n");
  else summaryLines(summary).forEach((line) => process.stderr.write(line + "\n"));
  return { exitCode, summary };
}
