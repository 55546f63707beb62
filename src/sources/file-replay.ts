/**
 * `replayFile(path)`: a recorded scan as a source of processed frames, so a file goes through the same chain as a
 * live scan (chunk, reconstruct, outputs). Reads the `.ptyd` files and CXI files this project writes (and PtyPy's
 * `.ptyd` layout in general): one `start`, the frames in order with their positions, `end`. Frames are read one at a
 * time, only while credits are free, so memory stays bounded however large the file.
 *
 * `.ptyd` carries per-frame weights; CXI has no standard place for them, so a CXI frame's pixels all count.
 */
import { Observable, Subscription } from "rxjs";
import { endEvent, itemEvent, startEvent } from "../model/events";
import { JOULES_PER_EV } from "../model/cosmicstreams";
import { Frame, ScanMeta, processedScanMeta } from "../model/scan";
import { FrameEvent } from "../preprocess/types";
import { fromIterableWithCredits } from "../runtime/credits";
import { H5, H5Dataset, H5File, loadH5wasm } from "../runtime/h5wasm";

export interface ReplayOptions {
  credits?: number;
  /** The scan id to report (default: the file's label, or its name). */
  scanId?: string;
}

/** Where each frame is in the file. */
interface FrameLocation {
  dataset: H5Dataset;
  weights?: H5Dataset;
  row: number;
  index: number;
  positionM: { x: number; y: number };
}

interface RecordedScan {
  meta: ScanMeta;
  frames: FrameLocation[];
}

const scalar = (file: H5File, name: string): number => Number((file.get(name) as H5Dataset).value);

function readPtyd(h5: H5, file: H5File, scanId: string): RecordedScan {
  const chunks = file.get("chunks");
  if (!(chunks instanceof h5.Group)) throw new Error(`${file.filename}: no chunks/ group (not a .ptyd file)`);
  const frames: FrameLocation[] = [];
  for (const name of chunks.keys().sort((a, b) => Number(a) - Number(b))) {
    const group = chunks.get(name) as InstanceType<H5["Group"]>;
    const dataset = group.get("data") as H5Dataset;
    const positions = (group.get("positions") as H5Dataset).value as Float64Array;
    const indices = group.keys().includes("indices") ? Array.from((group.get("indices") as H5Dataset).value as Int32Array) : undefined;
    const weights = group.keys().includes("weights") ? (group.get("weights") as H5Dataset) : undefined;
    const count = (dataset.shape as number[])[0];
    for (let row = 0; row < count; row++) {
      frames.push({ dataset, weights, row, index: indices?.[row] ?? frames.length, positionM: { y: positions[2 * row], x: positions[2 * row + 1] } });
    }
  }
  const shape = Array.from((file.get("meta/shape") as H5Dataset).value as ArrayLike<number>);
  const meta = processedScanMeta({
    scanId,
    energyEv: scalar(file, "meta/energy") * 1000, // .ptyd energy is in keV
    distanceM: scalar(file, "meta/distance"),
    pixelSizeM: scalar(file, "meta/psize"),
    numPoints: frames.length,
    width: shape[shape.length - 1],
    positionsM: frames.map((f) => f.positionM),
    profile: "replay",
  });
  return { meta, frames };
}

function readCxi(file: H5File, scanId: string): RecordedScan {
  const dataset = file.get("entry_1/instrument_1/detector_1/data") as H5Dataset;
  const translation = (file.get("entry_1/sample_1/geometry_1/translation") as H5Dataset).value as Float64Array;
  const [count, , width] = dataset.shape as number[];
  const frames: FrameLocation[] = Array.from({ length: count }, (_, row) => ({ dataset, row, index: row, positionM: { x: translation[3 * row], y: translation[3 * row + 1] } }));
  const meta = processedScanMeta({
    scanId,
    energyEv: scalar(file, "entry_1/instrument_1/source_1/energy") / JOULES_PER_EV,
    distanceM: scalar(file, "entry_1/instrument_1/detector_1/distance"),
    pixelSizeM: scalar(file, "entry_1/instrument_1/detector_1/x_pixel_size"),
    numPoints: count,
    width,
    positionsM: frames.map((f) => f.positionM),
    profile: "replay",
  });
  return { meta, frames };
}

function readFrame(location: FrameLocation): Frame {
  const [, rows, cols] = location.dataset.shape as number[];
  const slab: Array<[number, number]> = [[location.row, location.row + 1], [0, rows], [0, cols]];
  const data = Float32Array.from(location.dataset.slice(slab) as ArrayLike<number>);
  const weights = location.weights ? Uint8Array.from(location.weights.slice(slab) as ArrayLike<number>, (w) => (w > 0 ? 1 : 0)) : new Uint8Array(data.length).fill(1);
  return { index: location.index, positionM: location.positionM, rows, cols, data, weights };
}

function fileLabel(h5: H5, file: H5File): string | undefined {
  const meta = file.get("meta");
  return meta instanceof h5.Group && meta.keys().includes("label") ? String((meta.get("label") as H5Dataset).value) : undefined;
}

export function replayFile(path: string, options: ReplayOptions = {}): Observable<FrameEvent> {
  return new Observable<FrameEvent>((subscriber) => {
    let file: H5File | undefined;
    let reading: Subscription | undefined;
    const close = () => {
      reading?.unsubscribe();
      file?.close();
      file = undefined;
    };
    loadH5wasm().then(
      (h5) => {
        if (subscriber.closed) return;
        try {
          file = new h5.File(path, "r");
          if (file.file_id < 0n) throw new Error("cannot open the file");
          const scanId = options.scanId ?? fileLabel(h5, file) ?? path.replace(/^.*\//, "").replace(/\.[^.]*$/, "");
          const scan = file.keys().includes("chunks") ? readPtyd(h5, file, scanId) : readCxi(file, scanId);
          subscriber.next(startEvent(scan.meta));
          reading = fromIterableWithCredits(scan.frames, options.credits ?? 64).subscribe({
            next: (envelope) => subscriber.next(itemEvent({ value: readFrame(envelope.value), ack: () => envelope.ack() })),
            error: (error) => subscriber.error(error),
            complete: () => {
              subscriber.next(endEvent(scan.meta, "stop"));
              close();
              subscriber.complete();
            },
          });
        } catch (error) {
          close();
          subscriber.error(new Error(`replay ${path}: ${(error as Error).message}`));
        }
      },
      (error) => subscriber.error(error),
    );
    return close;
  });
}
