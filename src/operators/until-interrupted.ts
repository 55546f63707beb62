/**
 * `untilInterrupted(stop$)`: when `stop$` emits (SIGINT, SIGTERM, a viewer's stop button), closes the scan in
 * progress with an `end` event of reason `interrupted` and completes, which unsubscribes from the source (its
 * sockets close, it reads no more). Everything downstream then drains as at a normal end: `chunk` flushes its
 * partial chunk, storage closes its files valid, reconstruction finishes. Placed right after `grab`.
 */
import { Observable, ObservableInput, OperatorFunction, from } from "rxjs";
import { ScanEvent, endEvent } from "../model/events";
import { ScanMeta } from "../model/scan";

export function untilInterrupted<T, D>(stop$: ObservableInput<unknown>): OperatorFunction<ScanEvent<T, D>, ScanEvent<T, D>> {
  return (source) =>
    new Observable<ScanEvent<T, D>>((subscriber) => {
      let openScan: ScanMeta | undefined;
      const stopSubscription = from(stop$).subscribe(() => {
        if (openScan !== undefined) subscriber.next(endEvent(openScan, "interrupted", "stopped by request"));
        openScan = undefined;
        subscriber.complete();
      });
      if (subscriber.closed) return stopSubscription;
      const sourceSubscription = source.subscribe({
        next(event) {
          if (event.kind === "start" || event.kind === "meta") openScan = event.meta;
          if (event.kind === "end") openScan = undefined;
          subscriber.next(event);
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        stopSubscription.unsubscribe();
        sourceSubscription.unsubscribe();
      };
    });
}
