/**
 * `measured(name, metrics, stage)`: runs `stage` and records its metrics (src/runtime/metrics.ts). The stage's
 * clock runs from the moment a value enters until the stage emits (or returns); while the emitted value travels
 * downstream the clock is paused, so each stage is charged for its own work only.
 *
 * `countOf` says how many items an event stands for (e.g. scan events: an item counts 1, a chunk its frames,
 * control events 0), so queue depth is in frames whatever the stage's output type.
 */
import { Observable, OperatorFunction } from "rxjs";
import { PipelineMetrics } from "../runtime/metrics";

export function measured<A, B>(
  name: string,
  metrics: PipelineMetrics,
  stage: OperatorFunction<A, B>,
  countIn: (value: A) => number = () => 1,
  countOut: (value: B) => number = () => 1,
): OperatorFunction<A, B> {
  const stageMetrics = metrics.stage(name);
  return (source) => {
    // Emissions from a timer or a worker reply happen outside any input: the clock resumes only inside one.
    let insideInput = 0;
    const entering = new Observable<A>((subscriber) =>
      source.subscribe({
        next(value) {
          const count = countIn(value);
          for (let i = 0; i < count; i++) stageMetrics.entered();
          insideInput += 1;
          stageMetrics.startClock();
          try {
            subscriber.next(value);
          } finally {
            insideInput -= 1;
            stageMetrics.stopClock();
          }
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
    return new Observable<B>((subscriber) =>
      stage(entering).subscribe({
        next(value) {
          const count = countOut(value);
          stageMetrics.emitted(count);
          stageMetrics.released(count);
          stageMetrics.stopClock();
          try {
            subscriber.next(value);
          } finally {
            if (insideInput > 0) stageMetrics.startClock();
          }
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
  };
}
