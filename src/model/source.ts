import { ScanControlMessage } from "./frameserver";
import { Envelope } from "./envelope";
import { RawFrame } from "./scan";

/** The common output of every raw source (in-process simulator, ZeroMQ frameserver): scan control and frames. */
export type SourceMessage = { kind: "control"; message: ScanControlMessage } | { kind: "frame"; frame: Envelope<RawFrame> };
