import * as t from "io-ts";
import { TestScheduler } from "rxjs/testing";
import { asyncScheduler, bufferCount, map, tap } from "rxjs";
import { CreditGate, fromIterableWithCredits, requiredCredits, withCreditBudget, creditBudgetProblem, StageHold } from "../../src/runtime/credits";
import { decodeEither, PositiveInteger } from "../../src/model/codec";
import { Envelope } from "../../src/model/envelope";

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe("fromIterableWithCredits", () => {
  it("reads two at once, then one per acknowledgement, and completes after the last", () => {
    newScheduler().run(({ expectObservable }) => {
      const gate = new CreditGate(2);
      const reads = fromIterableWithCredits(["a", "b", "c", "d", "e"], gate).pipe(
        // Downstream holds each value for 10 frames of virtual time, then acknowledges it.
        tap((env) => asyncScheduler.schedule(() => env.ack(), 10)),
        map((env) => env.value),
      );
      expectObservable(reads).toBe("(ab) 6ms (cd) 6ms (e|)");
    });
  });

  it("never reads again when nothing is acknowledged (and never holds more than N)", () => {
    newScheduler().run(({ expectObservable }) => {
      const source = fromIterableWithCredits("abcdef", 3).pipe(map((env) => env.value));
      expectObservable(source).toBe("(abc)");
    });
  });

  it("drains at once when every value is acknowledged synchronously, without recursion", () => {
    newScheduler().run(({ expectObservable }) => {
      const gate = new CreditGate(1);
      const source = fromIterableWithCredits("abcde", gate).pipe(
        tap((env) => env.ack()),
        map((env) => env.value),
      );
      expectObservable(source).toBe("(abcde|)");
    });
    const many = Array.from({ length: 100000 }, (_, i) => i);
    let count = 0;
    fromIterableWithCredits(many, 1).subscribe((env) => {
      count += 1;
      env.ack();
    });
    expect(count).toBe(100000);
  });

  it("stops pulling from the iterator when unsubscribed", () => {
    let pulled = 0;
    function* counting() {
      for (;;) {
        pulled += 1;
        yield pulled;
      }
    }
    const held: Envelope<number>[] = [];
    const subscription = fromIterableWithCredits(counting(), 4).subscribe((env) => held.push(env));
    expect(pulled).toBe(4);
    subscription.unsubscribe();
    held.forEach((env) => env.ack());
    expect(pulled).toBe(4);
  });
});

describe("CreditGate", () => {
  it("counts outstanding credits, the high-water mark, and wakes a waiting reader on ack", async () => {
    const gate = new CreditGate(2);
    const a = gate.issue("a");
    gate.issue("b");
    expect(gate.available).toBe(0);
    expect(() => gate.issue("c")).toThrow(/no credit free: 2 of 2/);
    let woke = false;
    const waiting = gate.whenAvailable().then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    a.ack();
    a.ack(); // idempotent: a second ack must not free a second credit
    await waiting;
    expect(woke).toBe(true);
    expect(gate.outstanding).toBe(1);
    expect(gate.highWaterMark).toBe(2);
    expect(gate.issued).toBe(2);
  });
});

describe("credit budget at configuration time", () => {
  const Config = t.type({ credits: PositiveInteger, chunkSize: PositiveInteger, exposures: PositiveInteger });
  const holdsOf = (c: t.TypeOf<typeof Config>): StageHold[] => [
    { stage: "chunk", maxHeldFrames: c.chunkSize * c.exposures, why: `${c.chunkSize} points x ${c.exposures} exposures` },
    { stage: "hdr", maxHeldFrames: c.exposures, why: "one point's exposures" },
  ];
  const Budgeted = withCreditBudget(Config, (c) => c.credits, holdsOf);

  it("rejects credits that cannot cover what the stages hold, saying why", () => {
    const result = decodeEither(Budgeted, { credits: 20, chunkSize: 16, exposures: 2 });
    expect(result).toEqual({
      ok: false,
      problems: [
        "credits: expected at least 38 (chunk holds up to 32 (16 points x 2 exposures), hdr holds up to 2 (one point's exposures), slack 4), got 20: the pipeline would deadlock",
      ],
    });
  });

  it("accepts enough credits", () => {
    expect(decodeEither(Budgeted, { credits: 38, chunkSize: 16, exposures: 2 }).ok).toBe(true);
    expect(requiredCredits(holdsOf({ credits: 1, chunkSize: 4, exposures: 1 }), 0)).toBe(5);
    expect(creditBudgetProblem(5, holdsOf({ credits: 1, chunkSize: 4, exposures: 1 }), 0)).toBeUndefined();
  });

  it("is not a formality: a stage that holds more frames than the credits allow stalls for ever", () => {
    newScheduler().run(({ expectObservable }) => {
      // A chunk of 4 frames that acknowledges them only when handed on, fed with 3 credits: the chunk never fills.
      const chunks = fromIterableWithCredits([1, 2, 3, 4, 5, 6, 7, 8], 3).pipe(
        bufferCount(4),
        tap((frames) => frames.forEach((env) => env.ack())),
        map((frames) => frames.map((env) => env.value).join("")),
      );
      expectObservable(chunks).toBe("");
      expect(creditBudgetProblem(3, [{ stage: "chunk", maxHeldFrames: 4, why: "chunk of 4" }], 0)).toMatch(/expected at least 4/);
    });
  });
});
