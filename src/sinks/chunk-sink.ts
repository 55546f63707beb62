/**
 * The operator shape every chunk sink shares (storage, publishing): a pass-through on `ScanEvent<Chunk>` that
 * hands the sink the scan's events and, for each chunk, its own share of the chunk's acknowledgement
 * (`shareAck`), so the source gets its credit back only once downstream AND the sink have let go. Events go on
 * downstream unchanged and at once; completion and errors are passed on once the sink has finished (files
 * closed, messages sent), so whoever waits for the stream can rely on its outputs.
 */
import { MonoTypeOperatorFunction, Observable } from "rxjs";
import { Envelope, shareAck } from "../model/envelope";
import { EndReason, ScanEvent } from "../model/events";
import { Chunk, DarkFrame, ScanMeta } from "../model/scan";

export type SinkFinishCause = "complete" | "error" | "unsubscribed";

export interface ChunkSink {
  startScan(meta: ScanMeta): void;
  updateMeta(meta: ScanMeta): void;
  /** The sink's share of a chunk: it must ack it once it no longer holds the chunk. */
  offer(item: Envelope<Chunk>): void;
  endScan(reason: EndReason): void;
  /** Ends the open scan and settles once everything is done; a rejection on completion fails the stream. */
  finish(cause: SinkFinishCause): Promise<void>;
  /** Downstream unsubscribed (default: `finish("unsubscribed")` in the background). */
  abandon?(): void;
}

/** The pass-through operator around the sink `create` makes (once per subscription; `fail` errors the stream). */
export function chunkSinkOperator<D = DarkFrame>(create: (fail: (error: unknown) => void) => ChunkSink): MonoTypeOperatorFunction<ScanEvent<Chunk, D>> {
  return (source) =>
    new Observable<ScanEvent<Chunk, D>>((subscriber) => {
      const sink = create((error) => subscriber.error(error));
      let finishing: Promise<void> | undefined;
      const finish = (cause: SinkFinishCause): Promise<void> => (finishing ??= sink.finish(cause));
      const abandon = () => (sink.abandon ? sink.abandon() : void finish("unsubscribed").catch(() => undefined));
      // A synchronous source keeps emitting while downstream unsubscribes (take(n)): once downstream is gone,
      // the sink takes nothing more, and chunks are acked since no one else will.
      const gone = (event?: ScanEvent<Chunk, D>): boolean => {
        if (!subscriber.closed) return false;
        if (event?.kind === "item") event.item.ack();
        abandon();
        return true;
      };
      const subscription = source.subscribe({
        next(event) {
          if (gone(event)) return;
          switch (event.kind) {
            case "start":
              sink.startScan(event.meta);
              break;
            case "meta":
              sink.updateMeta(event.meta);
              break;
            case "item": {
              const [mine, theirs] = shareAck(event.item, 2);
              sink.offer(mine);
              subscriber.next({ kind: "item", item: theirs });
              return;
            }
            case "end":
              sink.endScan(event.reason);
              break;
          }
          subscriber.next(event);
        },
        error(error) {
          if (gone()) return;
          const pass = () => subscriber.error(error);
          finish("error").then(pass, pass);
        },
        complete() {
          if (gone()) return;
          finish("complete").then(
            () => subscriber.complete(),
            (failure: unknown) => subscriber.error(failure),
          );
        },
      });
      return () => {
        subscription.unsubscribe();
        abandon();
      };
    });
}
