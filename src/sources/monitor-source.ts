/**
 * The frameserver's monitor port, for viewers: a conflating SUB (only the latest frame waits), so a slow viewer
 * sees the newest frame and never takes frames away from the pipeline's PUSH stream. Messages are one part
 * (see `encodeMonitorMessage`); raw-protocol headers (`shape`) and cosmicstreams headers (`shape_y`, `shape_x`)
 * are both understood. Bad messages are faults; the stream goes on.
 */
import { Observable } from "rxjs";
import * as zmq from "zeromq";
import { CosmicFrameHeader } from "../model/cosmicstreams";
import { Fault, fault } from "../model/fault";
import { RawFrameHeader } from "../model/frameserver";
import { RawFrame } from "../model/scan";
import { decodeArrayHeader, decodeArrayPart } from "./decode";
import { decodeMonitorMessage } from "./frameserver-server";
import { faultsToStderr, readWhileSubscribed } from "./zmq";

export interface MonitorSourceOptions {
  address: string;
  onFault?: (fault: Fault) => void;
  where?: string;
}

export function monitorSource(options: MonitorSourceOptions): Observable<RawFrame> {
  return new Observable<RawFrame>((subscriber) => {
    const where = options.where ?? "monitor";
    const report = options.onFault ?? faultsToStderr;
    const socket = new zmq.Subscriber({ conflate: true, linger: 0 });
    socket.subscribe();
    socket.connect(options.address);

    const onMessage = ([message]: Buffer[]) => {
      let parsed: { header: unknown; bytes: Buffer };
      try {
        parsed = decodeMonitorMessage(message);
      } catch (error) {
        return report(fault("malformed-json", where, `monitor message: ${(error as Error).message}`));
      }
      const isCosmic = typeof parsed.header === "object" && parsed.header !== null && "shape_y" in parsed.header;
      const header = isCosmic
        ? decodeArrayHeader(CosmicFrameHeader, parsed.header, where, "monitor header")
        : decodeArrayHeader(RawFrameHeader, parsed.header, where, "monitor header");
      if (!header.ok) return report(header.fault);
      const h = header.value;
      const shape: [number, number] = "shape" in h ? h.shape : [h.shape_y, h.shape_x];
      const order = "order" in h ? h.order : "C";
      const data = decodeArrayPart(parsed.bytes, { shape, dtype: h.dtype, byteorder: h.byteorder, order, index: h.index }, where, `monitor frame ${h.index}`);
      if (!data.ok) return report(data.fault);
      subscriber.next({ index: h.index, rows: shape[0], cols: shape[1], dtype: h.dtype, data: data.value });
    };

    return readWhileSubscribed(socket, subscriber, onMessage);
  });
}
