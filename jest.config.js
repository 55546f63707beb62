/** Jest runs the TypeScript sources through ts-jest (CommonJS). Type checking is done once by `tsc --noEmit`
 * in the test script, so ts-jest only transpiles (isolatedModules) and the suite starts fast. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  testTimeout: 60000,
  reporters: ["default", "<rootDir>/test/summary-reporter.js"],
};
