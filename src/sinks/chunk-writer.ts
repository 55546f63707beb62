/**
 * What a storage sink drives: one writer per scan and file. Calls are synchronous HDF5 work; the sink operator
 * (`storeChunks`) runs them off the grab path from its queue, one whole chunk per call.
 */
import { Chunk, ScanMeta } from "../model/scan";

export interface ChunkWriter {
  /** The file written, for summaries and errors. */
  readonly path: string;
  /** Payload bytes written so far (frames, weights, positions, indices). */
  readonly bytesWritten: number;
  /**
   * Appends one chunk, whole, and flushes: a reader can open the file after any complete chunk. May return a
   * promise (a writer in a worker thread, or a test's slowed writer); the sink waits for it before the next chunk.
   */
  append(chunk: Chunk): void | Promise<void>;
  /** Metadata learnt during the scan (centre, effective pixel size). */
  updateMeta(meta: ScanMeta): void;
  /** Finishes the file so it is valid; idempotent. */
  close(): void;
}

/** Opens the writer of one scan; called on the scan's first chunk, with the metadata that chunk carries. */
export type ChunkWriterFactory = (meta: ScanMeta) => ChunkWriter | Promise<ChunkWriter>;

/** `{scanId}` in a path template becomes the scan's id (service mode writes one set of files per scan). */
export function scanPath(template: string, meta: Pick<ScanMeta, "scanId">): string {
  return template.split("{scanId}").join(meta.scanId.replace(/[^A-Za-z0-9._-]/g, "_"));
}

/** Electronvolts to joules (CXI stores the source energy in J). */
export { JOULES_PER_EV } from "../model/cosmicstreams";
