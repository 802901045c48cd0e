/**
 * Jest in native ESM mode (got is ESM-only); TypeScript is stripped by SWC, types are checked by
 * `npm run typecheck`.
 *
 * No result may depend on the process's time zone, so no test runs in UTC: every test runs in
 * Asia/Kolkata (+05:30, a half-hour offset), and the tests that parse or compare times — the unit
 * tests and the integration test of odd dates — run again in America/Los_Angeles (behind UTC, with
 * daylight saving time). test/helpers/zoneEnvironment.cjs sets each project's zone.
 */
const project = {
  testEnvironment: '<rootDir>/test/helpers/zoneEnvironment.cjs',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Its ESM build imports JSON without an import attribute, which Jest warns about on every load.
    '^libphonenumber-js/max$': '<rootDir>/node_modules/libphonenumber-js/max/index.cjs',
  },
  testTimeout: 30_000,
};

export default {
  projects: [
    {
      ...project,
      displayName: 'Asia/Kolkata',
      testEnvironmentOptions: { timeZone: 'Asia/Kolkata' },
      testMatch: ['<rootDir>/test/**/*.test.ts'],
    },
    {
      ...project,
      displayName: 'America/Los_Angeles',
      testEnvironmentOptions: { timeZone: 'America/Los_Angeles' },
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/integration/dates.test.ts'],
    },
  ],
  testTimeout: 30_000,
  maxWorkers: 2,
};
