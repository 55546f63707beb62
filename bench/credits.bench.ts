/** Cost of the credit gate: values/s through `fromIterableWithCredits` with acks, against rxjs `from` of the same values. */
import { from } from "rxjs";
import { Bench } from "./harness";
import { fromIterableWithCredits } from "../src/runtime/credits";

const COUNT = 1_000_000;
const values = Array.from({ length: COUNT }, (_, i) => i);

function timeIt(run: () => number): { value: number; detail: Record<string, number> } {
  const started = process.hrtime.bigint();
  const sum = run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { value: COUNT / seconds / 1e6, detail: { checksum: sum } };
}

export const benches: Bench[] = [
  {
    name: "credits",
    unit: "M values/s",
    higherIsBetter: true,
    runs: 7,
    measure: () =>
      timeIt(() => {
        let sum = 0;
        // A credit window of 64, each value acknowledged as soon as it is used.
        fromIterableWithCredits(values, 64).subscribe((env) => {
          sum += env.value;
          env.ack();
        });
        return sum;
      }),
    baseline: {
      name: "rxjs from()",
      measure: () =>
        timeIt(() => {
          let sum = 0;
          from(values).subscribe((v) => (sum += v));
          return sum;
        }),
    },
  },
];
