import { TestScheduler } from "rxjs/testing";
import { bufferCount, map, mergeMap, Observable, of } from "rxjs";
import { measured } from "../../src/operators/measured";
import { PipelineMetrics } from "../../src/runtime/metrics";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe("measured", () => {
  it("passes the stage's emissions through unchanged and counts items in and out", () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const metrics = new PipelineMetrics(() => 0);
      const out = cold("a-b-c-d-|").pipe(measured("pairs", metrics, bufferCount(2)), map((pair) => pair.join("")));
      expectObservable(out).toBe("--x---y-|", { x: "ab", y: "cd" });
    });
  });

  it("reports queue depth for a stage that holds items, in frames", () => {
    const metrics = new PipelineMetrics(() => 0);
    const held: number[] = [];
    of(1, 2, 3, 4, 5)
      .pipe(
        measured("chunk", metrics, bufferCount(3), () => 1, (chunk) => chunk.length),
      )
      .subscribe({ next: () => held.push(metrics.stage("chunk").figures().queueDepth) });
    const figures = metrics.stage("chunk").figures();
    expect(held).toEqual([0, 0]);
    expect(figures.itemsIn).toBe(5);
    expect(figures.itemsOut).toBe(5);
    expect(figures.maxQueueDepth).toBe(3);
  });

  it("charges each stage only for its own time, not for the stages downstream", () => {
    let now = 0;
    const metrics = new PipelineMetrics(() => now);
    const work = (seconds: number) => map((v: number) => {
      now += seconds;
      return v;
    });
    of(1, 2).pipe(measured("cheap", metrics, work(1)), measured("costly", metrics, work(10))).subscribe();
    expect(metrics.stage("cheap").figures().busySeconds).toBe(2);
    expect(metrics.stage("costly").figures().busySeconds).toBe(20);
    // The rate counts the stage's active window (first in to last out), not the idle time after the scan.
    const firstInAt = 0;
    const lastOutAt = 12; // cheap emits its second item after 1 + 10 + 1 seconds
    now = 1000;
    expect(metrics.stage("cheap").figures().rateOut).toBeCloseTo(2 / (lastOutAt - firstInAt), 9);
  });

  it("does not charge a stage for time between inputs when it emits later on its own", () => {
    let now = 0;
    const metrics = new PipelineMetrics(() => now);
    const later = (v: number) =>
      new Observable<number>((subscriber) => {
        pending.push(() => {
          subscriber.next(v);
          subscriber.complete();
        });
      });
    const pending: Array<() => void> = [];
    of(1).pipe(measured("async", metrics, mergeMap(later))).subscribe();
    now = 100;
    pending.forEach((emit) => emit());
    now = 1000;
    expect(metrics.stage("async").figures().busySeconds).toBe(0);
  });
});
