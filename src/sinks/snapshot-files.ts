/**
 * `snapshotFiles`: the reconstruction's files. A pass-through on snapshots that, for each final snapshot, writes the
 * picture (`<scanId>-reconstruction.png`: amplitude and phase side by side with colour scales) and adds the object
 * and probe to the scan's CXI file as `entry_1/image_<k>` once the storage sink has closed that file. Completion
 * waits until every file is written, so whoever waits for the stream can rely on them.
 */
import * as path from "node:path";
import { MonoTypeOperatorFunction, Observable } from "rxjs";
import { Snapshot } from "../model/scan";
import { appendCxiImage } from "./cxi-writer";
import { writeReconstructionPng } from "./png";
import { SinkSummary } from "./store-chunks";

export interface SnapshotFilesOptions {
  directory: string;
  /** The closed CXI file of a scan (when CXI is being written), to add the reconstruction to. */
  cxiFileOf?: (scanId: string) => Promise<SinkSummary>;
  /** Called with each file written. */
  onFile?: (file: string) => void;
  log?: (line: string) => void;
}

export function snapshotFiles(options: SnapshotFilesOptions): MonoTypeOperatorFunction<Snapshot> {
  return (source) =>
    new Observable<Snapshot>((subscriber) => {
      // Files are written one after another, in snapshot order, off the stream's path.
      let writing: Promise<void> = Promise.resolve();
      let failed = false;
      const fail = (error: unknown) => {
        failed = true;
        subscriber.error(error);
      };
      const write = async (snapshot: Snapshot) => {
        const scanId = snapshot.scanId ?? "scan";
        const png = path.join(options.directory, `${scanId}-reconstruction.png`);
        await writeReconstructionPng(png, snapshot);
        options.onFile?.(png);
        if (options.cxiFileOf) {
          const cxi = await options.cxiFileOf(scanId);
          if (cxi.path !== undefined && cxi.framesWritten > 0) {
            const group = await appendCxiImage(cxi.path, {
              object: snapshot.object,
              probe: snapshot.probe,
              objectPixelSizeM: snapshot.objectPixelSizeM,
              iteration: snapshot.iteration,
              error: snapshot.error,
            });
            options.log?.(`reconstruction of ${scanId} added to ${cxi.path} as ${group}`);
          }
        }
      };
      return source.subscribe({
        next(snapshot) {
          subscriber.next(snapshot);
          if (snapshot.final) writing = writing.then(() => write(snapshot)).catch(fail);
        },
        error: (error) => subscriber.error(error),
        complete: () => void writing.then(() => failed || subscriber.complete()),
      });
    });
}
