/**
 * Jest's node environment in the process time zone its project names
 * (`testEnvironmentOptions.timeZone`, see jest.config.js). Node re-reads the zone whenever
 * process.env.TZ is assigned, so each test file runs in its project's zone even when one worker
 * runs files of both projects.
 */
const { TestEnvironment } = require('jest-environment-node');

class ZoneEnvironment extends TestEnvironment {
  constructor(config, context) {
    const zone = config.projectConfig.testEnvironmentOptions.timeZone;
    if (typeof zone !== 'string' || zone === '') throw new Error('zoneEnvironment: set testEnvironmentOptions.timeZone');
    process.env.TZ = zone;
    super(config, context);
  }
}

module.exports = ZoneEnvironment;
