import { withDefaults } from "../../src/runtime/defaults";

describe("withDefaults", () => {
  it("keeps a default when the option is passed through unset", () => {
    expect(withDefaults({ pattern: "pull", credits: 64 }, { pattern: undefined, credits: 8 })).toEqual({ pattern: "pull", credits: 8 });
  });
});
