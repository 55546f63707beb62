/**
 * `chunk`: packs contiguous runs of `size` frames (data, weights, positions, indices) into a `Chunk` carrying
 * its index (from 0 per scan) and the metadata of its frames. The chunk's envelope acknowledges all its frames:
 * whoever lets go of the chunk (storage, reconstruction) gives the credits back. A partial chunk goes out when
 * the scan ends, when the metadata changes (frames of one chunk share shape and pixel size) or the source closes.
 */
import { OperatorFunction } from "rxjs";
import { Envelope, joinEnvelopes } from "../model/envelope";
import { Chunk, chunkFromFrames, Frame, ScanMeta } from "../model/scan";
import { ChunkOptions, PREPROCESS_DEFAULTS } from "../preprocess/config";
import { FrameEvent, ItemEvent } from "../preprocess/types";
import { StageHold } from "../runtime/credits";
import { passMeta, scanOperator } from "./scan-stage";

export function chunk(options: ChunkOptions = {}): OperatorFunction<FrameEvent, ItemEvent<Chunk>> {
  const size = options.size ?? PREPROCESS_DEFAULTS.chunkSize;
  return scanOperator<Frame, never, Chunk, never>("chunk", (emit) => {
    let held: Envelope<Frame>[] = [];
    let chunkIndex = 0;
    let current: ScanMeta | undefined;
    const pass = passMeta(emit);
    const flush = () => {
      if (held.length === 0 || current === undefined) return;
      const frames = held;
      held = [];
      const packed = chunkFromFrames(chunkIndex, frames.map((f) => f.value), current);
      chunkIndex += 1;
      emit({ kind: "item", item: joinEnvelopes(packed, frames) });
    };
    return {
      start: (meta) => {
        flush();
        chunkIndex = 0;
        current = meta;
        pass.start(meta);
      },
      meta: (meta) => {
        flush();
        current = meta;
        pass.meta(meta);
      },
      dark: (dark) => emit({ kind: "dark", dark }),
      item: (item) => {
        held.push(item);
        if (held.length >= size) flush();
      },
      end: (meta, reason, message) => {
        flush();
        current = undefined;
        pass.end(meta, reason, message);
      },
      complete: flush,
    };
  });
}

export function chunkHold(options: ChunkOptions, exposuresPerPoint: number): StageHold {
  const size = options.size ?? PREPROCESS_DEFAULTS.chunkSize;
  return {
    stage: "chunk",
    maxHeldFrames: size * exposuresPerPoint,
    why: `holds up to ${size} points x ${exposuresPerPoint} exposures until the chunk is full`,
  };
}
