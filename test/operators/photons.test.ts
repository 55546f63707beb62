import { map } from "rxjs";
import { aduPerPhoton, photons } from "../../src/operators/photons";
import { FrameEvent } from "../../src/preprocess/types";
import { AckLog, endOf, frame, startOf, summarize, testMeta, testScheduler } from "../preprocess/fixtures";

describe("photons (stream)", () => {
  it("converts with gain x energy from the start unless told otherwise", () => {
    expect(aduPerPhoton({}, { gainAduPerEv: 0.004, energyEv: 800 })).toBeCloseTo(3.2, 12);
    expect(aduPerPhoton({ gainAduPerEv: 0.005 }, { gainAduPerEv: 0.004, energyEv: 800 })).toBeCloseTo(4, 12);
    expect(aduPerPhoton({ aduPerPhoton: 2 }, { gainAduPerEv: 0.004, energyEv: 800 })).toBe(2);
    testScheduler().run(({ cold, expectObservable }) => {
      const meta = testMeta({ frameShape: [1, 2], gainAduPerEv: 0.005, energyEv: 1000 }); // 5 ADU per photon
      const source = cold<FrameEvent>("s-f-e|", { s: startOf(meta), f: { kind: "item", item: new AckLog().wrap("f", frame(0, 1, 2, [10, 25])) }, e: endOf(meta) });
      const show = map((event: FrameEvent) => (event.kind === "item" ? Array.from(event.item.value.data).join(",") : summarize(event)));
      expectObservable(source.pipe(photons(), show)).toBe("s-f-e|", { s: "start 1x2", f: "2,5", e: "end stop" });
      expectObservable(source.pipe(photons({ aduPerPhoton: 2.5 }), show)).toBe("s-f-e|", { s: "start 1x2", f: "4,10", e: "end stop" });
    });
  });
});
