/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // p-queue and p-timeout are ESM-only; jest on Node 20 cannot require(esm) (TOOLCHAIN pitfall 22).
  transformIgnorePatterns: ['/node_modules/(?!(p-queue|p-timeout)/)'],
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { module: 'commonjs', allowJs: true, isolatedModules: true } }],
  },
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  maxWorkers: 2,
  testTimeout: 60000,
};
