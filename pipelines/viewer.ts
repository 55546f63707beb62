/**
 * The standalone live viewer: subscribes to a frameserver's monitor port (conflating: it never takes frames away
 * from the pipeline), a cosmicstreams publisher, and/or a cosmicstreams `rec` publisher (reconstructions), and
 * serves the viewer page on 127.0.0.1.
 *
 *   npx ts-node pipelines/viewer.ts --monitor tcp://127.0.0.1:37012               # then open http://127.0.0.1:8080/
 *   npx ts-node pipelines/viewer.ts --cosmicstreams tcp://127.0.0.1:37013 --rec tcp://127.0.0.1:37016 --port 8081
 *   npx ts-node pipelines/viewer.ts --monitor tcp://127.0.0.1:37012 --export-png frame.png --export raw
 *
 * `--export-png FILE` waits for the first picture of the kind `--export` names (raw, frame or reconstruction),
 * writes it as PNG and exits; a running viewer serves the same at /export/raw.png, /export/frame.png and
 * /export/reconstruction.png (`curl -o rec.png http://127.0.0.1:8080/export/reconstruction.png`).
 * Raw monitor frames of the FCCD's raw shape are descrambled for display (`--layout fccd`, the default; `none`
 * shows them as they come; or a layout as JSON).
 */
import { promises as fs } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { Subscription } from "rxjs";
import { decodeEither } from "../src/model/codec";
import { DetectorLayout, FCCD_LAYOUT } from "../src/model/layout";
import { Fault } from "../src/model/fault";
import { PipelineMetrics } from "../src/runtime/metrics";
import { cosmicstreamsSource } from "../src/sources/cosmicstreams-source";
import { monitorSource } from "../src/sources/monitor-source";
import { ViewerFeed, startViewer } from "../src/viewer/feed";
import { recSource } from "../src/viewer/rec-source";

const EXPORTS = { raw: "raw.png", frame: "frame.png", reconstruction: "reconstruction.png" } as const;
type ExportKind = keyof typeof EXPORTS;

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer in [${min}, ${max}], got ${value}`);
  return n;
};
const positive = (value: string) => {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError(`expected a positive number, got ${value}`);
  return n;
};
const layoutOption = (value: string): DetectorLayout | undefined => {
  if (value === "fccd") return FCCD_LAYOUT;
  if (value === "none") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError(`expected fccd, none or a layout as JSON, got ${value}`);
  }
  const decoded = decodeEither(DetectorLayout, json);
  if (!decoded.ok) throw new InvalidArgumentError(decoded.problems.join("; "));
  return decoded.value;
};
const exportKind = (value: string): ExportKind => {
  if (!(value in EXPORTS)) throw new InvalidArgumentError(`expected one of ${Object.keys(EXPORTS).join(", ")}, got ${value}`);
  return value as ExportKind;
};

const program = new Command()
  .name("viewer")
  .description("Live viewer of a frameserver's monitor port or a cosmicstreams publisher, served as a web page.")
  .option("--monitor <endpoint>", "frameserver monitor port, e.g. tcp://127.0.0.1:37012")
  .option("--cosmicstreams <endpoint>", "cosmicstreams publisher, e.g. tcp://127.0.0.1:37013")
  .option("--rec <endpoint>", "cosmicstreams rec publisher (reconstructions), e.g. tcp://127.0.0.1:37016")
  .option("--port <n>", "HTTP port of the page (default 8080; with --export-png any free port)", integer(0, 65535))
  .option("--host <address>", "interface to serve on (another than loopback only when you mean it)", "127.0.0.1")
  .option("--max-fps <n>", "page updates per second at most", positive, 5)
  .option("--layout <layout>", "raw layout for descrambling monitor frames: fccd | none | JSON", layoutOption, FCCD_LAYOUT)
  .option("--export-png <file>", "write the first picture of --export as PNG to this file and exit")
  .option("--export <kind>", "raw | frame | reconstruction", exportKind, "raw" as ExportKind)
  .option("--timeout-s <s>", "with --export-png: give up after this many seconds", positive, 30);

/** Feeds the viewer from the chosen sources; what goes wrong on the wire is counted as bad:<reason>. */
function subscribe(viewer: ViewerFeed, options: { monitor?: string; cosmicstreams?: string; rec?: string }): Subscription {
  const subscription = new Subscription();
  const metrics = new PipelineMetrics();
  const counts: Record<string, number> = { received: 0 };
  const onFault = (f: Fault) => {
    const key = `bad:${f.reason}`;
    counts[key] = (counts[key] ?? 0) + (f.count ?? 1);
    viewer.health({ stages: metrics.figures(), counts });
  };
  const received = (stage: string) => {
    const figures = metrics.stage(stage);
    figures.entered();
    figures.emitted();
    figures.released(1);
    counts.received += 1;
    viewer.health({ stages: metrics.figures(), counts });
  };
  if (options.monitor !== undefined) {
    subscription.add(
      monitorSource({ address: options.monitor, onFault }).subscribe((frame) => {
        received("monitor");
        viewer.rawFrame(frame);
      }),
    );
  }
  if (options.cosmicstreams !== undefined) {
    subscription.add(
      cosmicstreamsSource({ address: options.cosmicstreams, onFault }).subscribe((event) => {
        if (event.kind === "start") {
          counts.scans = (counts.scans ?? 0) + 1;
          viewer.scan({ scanId: event.meta.scanId, positionsM: event.meta.positionsM });
        } else if (event.kind === "item") {
          received("cosmicstreams");
          viewer.processedFrame(event.item.value);
          event.item.ack();
        } else if (event.kind === "dark") {
          event.dark.ack();
        }
      }),
    );
  }
  if (options.rec !== undefined) {
    subscription.add(
      recSource({ address: options.rec, onFault }).subscribe((snapshot) => {
        counts.reconstructions = (counts.reconstructions ?? 0) + 1;
        viewer.snapshot(snapshot);
      }),
    );
  }
  return subscription;
}

async function main(): Promise<void> {
  const o = program.parse(process.argv).opts();
  const sources = (["monitor", "cosmicstreams", "rec"] as const).filter((name) => o[name] !== undefined);
  if (sources.length === 0) throw new Error("give a source: --monitor, --cosmicstreams and/or --rec ADDRESS");
  const exporting = o.exportPng !== undefined;
  const viewer = await startViewer({ port: o.port ?? (exporting ? 0 : 8080), host: o.host, maxFps: o.maxFps, rawLayout: o.layout });
  const subscription = subscribe(viewer, o);
  const shutdown = async (code: number) => {
    subscription.unsubscribe();
    await viewer.close();
    process.exit(code);
  };
  process.once("SIGINT", () => void shutdown(0));
  process.once("SIGTERM", () => void shutdown(0));
  const source = sources.map((name) => `${name} ${o[name]}`).join(", ");
  process.stderr.write(`viewer: ${viewer.url} showing ${source}\n`);
  if (!exporting) return;

  const kind = o.export as ExportKind;
  const deadline = Date.now() + o.timeoutS * 1000;
  for (;;) {
    const png = viewer.exportPng(EXPORTS[kind]);
    if (png !== undefined) {
      await fs.writeFile(o.exportPng, png);
      process.stderr.write(`viewer: wrote the ${kind} picture to ${o.exportPng}\n`);
      return shutdown(0);
    }
    if (Date.now() > deadline) {
      process.stderr.write(`viewer: no ${kind} picture from ${source} within ${o.timeoutS} s; nothing written\n`);
      return shutdown(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

main().catch((error) => {
  process.stderr.write(`viewer: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
