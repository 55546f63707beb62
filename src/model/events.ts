/**
 * The spine of every pipeline: a stream of scan events. A scan opens with `start`, may update its metadata
 * (`meta`: centre found, shape or effective pixel size changed), carries darks and data items, and closes with
 * `end`. In service mode the next `start` follows. Darks and items travel in envelopes so acknowledgements
 * (credits) reach the source; a stage passes on the events it does not transform.
 *
 * Item types along the chain: `Point` (raw exposures of one position, after `grab`), the preprocessing
 * stages' intermediate forms, `Frame` (processed), then `Chunk`.
 */
import { Envelope } from "./envelope";
import { DarkFrame, ScanMeta } from "./scan";

export type EndReason = "stop" | "abort" | "idle" | "source-closed" | "interrupted";

export type ScanEvent<T, D = DarkFrame> =
  | { kind: "start"; meta: ScanMeta }
  | { kind: "meta"; meta: ScanMeta }
  | { kind: "dark"; dark: Envelope<D> }
  | { kind: "item"; item: Envelope<T> }
  | { kind: "end"; meta: ScanMeta; reason: EndReason; message?: string };

export const startEvent = (meta: ScanMeta): ScanEvent<never, never> => ({ kind: "start", meta });
export const metaEvent = (meta: ScanMeta): ScanEvent<never, never> => ({ kind: "meta", meta });
export const darkEvent = <D>(dark: Envelope<D>): ScanEvent<never, D> => ({ kind: "dark", dark });
export const itemEvent = <T>(item: Envelope<T>): ScanEvent<T, never> => ({ kind: "item", item });
export const endEvent = (meta: ScanMeta, reason: EndReason, message?: string): ScanEvent<never, never> =>
  message === undefined ? { kind: "end", meta, reason } : { kind: "end", meta, reason, message };

/**
 * Passes every non-item event through unchanged and maps items: the shape of most per-frame stages.
 * (Dark events pass through as they are; a stage that transforms darks handles them itself.)
 */
export function mapItems<T, U, D>(
  event: ScanEvent<T, D>,
  project: (item: Envelope<T>) => Envelope<U>,
): ScanEvent<U, D> {
  return event.kind === "item" ? { kind: "item", item: project(event.item) } : event;
}
