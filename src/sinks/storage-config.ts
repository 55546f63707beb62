/**
 * Configuration of a storage sink, validated at the edge (io-ts), and the sink it builds:
 *
 *   { "format": "cxi", "path": "out/{scanId}.cxi", "policy": "bypass", "queueBytes": 268435456,
 *     "reserveBytes": 1073741824, "compression": "none" }
 */
import * as t from "io-ts";
import { MonoTypeOperatorFunction } from "rxjs";
import { Integer, NonNegativeInteger, PositiveInteger, decodeOrThrow } from "../model/codec";
import { Fault } from "../model/fault";
import { Chunk, DarkFrame } from "../model/scan";
import { ScanEvent } from "../model/events";
import { ChunkWriterFactory, scanPath } from "./chunk-writer";
import { CxiWriter } from "./cxi-writer";
import { Compression } from "./h5-layout";
import { PtydWriter } from "./ptyd-writer";
import { SinkSummary, storeChunks } from "./store-chunks";

const GzipLevel = new t.Type<number, number, unknown>(
  "gzip level 1-9",
  (u): u is number => Integer.is(u) && u >= 1 && u <= 9,
  (u, c) => (Integer.is(u) && u >= 1 && u <= 9 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

export const StorageSinkConfigCodec = t.intersection(
  [
    t.type({
      format: t.keyof({ ptyd: null, cxi: null }),
      /** File path; `{scanId}` becomes the scan's id. */
      path: t.string,
      policy: t.keyof({ block: null, bypass: null }),
    }),
    t.partial({
      /** `bypass`: bytes of chunks the queue may hold before it skips. */
      queueBytes: PositiveInteger,
      /** Stop writing below this many free bytes on the file's file system. */
      reserveBytes: NonNegativeInteger,
      compression: t.keyof({ none: null, gzip: null }),
      gzipLevel: GzipLevel,
    }),
  ],
  "StorageSinkConfig",
);
export type StorageSinkConfig = t.TypeOf<typeof StorageSinkConfigCodec>;

export const DEFAULT_QUEUE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_RESERVE_BYTES = 1024 * 1024 * 1024;
export const DEFAULT_GZIP_LEVEL = 1;

export function decodeStorageSinkConfig(input: unknown): StorageSinkConfig {
  return decodeOrThrow(StorageSinkConfigCodec, input, "storage sink configuration");
}

export function compressionOf(config: Pick<StorageSinkConfig, "compression" | "gzipLevel">): Compression {
  return config.compression === "gzip" ? { kind: "gzip", level: config.gzipLevel ?? DEFAULT_GZIP_LEVEL } : { kind: "none" };
}

export interface StorageSinkExtras {
  /** `.ptyd` `info/`: the preprocessing parameters. */
  info?: Record<string, unknown>;
  onFault?: (fault: Fault) => void;
  onSummary?: (summary: SinkSummary) => void;
  freeBytes?: (directory: string) => Promise<number>;
}

export function writerFactoryFor(config: StorageSinkConfig, extras: Pick<StorageSinkExtras, "info"> = {}): ChunkWriterFactory {
  const compression = compressionOf(config);
  return config.format === "ptyd"
    ? (meta) => PtydWriter.open({ path: scanPath(config.path, meta), info: extras.info, compression }, meta)
    : (meta) => CxiWriter.open({ path: scanPath(config.path, meta), compression }, meta);
}

/** The sink a configuration describes, as a pass-through operator (see `storeChunks`). */
export function storageSink<D = DarkFrame>(config: StorageSinkConfig, extras: StorageSinkExtras = {}): MonoTypeOperatorFunction<ScanEvent<Chunk, D>> {
  return storeChunks<D>(writerFactoryFor(config, extras), {
    policy: config.policy,
    queueBytes: config.queueBytes ?? DEFAULT_QUEUE_BYTES,
    reserveBytes: config.reserveBytes ?? DEFAULT_RESERVE_BYTES,
    where: `store:${config.format}`,
    onFault: extras.onFault,
    onSummary: extras.onSummary,
    freeBytes: extras.freeBytes,
  });
}
