// Shared Jest settings: @swc/jest (fast, emits decorator metadata), and the
// ESM-only packages (@nestjs/*, uuid, canonicalize) transformed to CommonJS for Jest.
const { paths } = require('./tsconfig.base.json').compilerOptions;
const path = require('node:path');

const moduleNameMapper = {};
for (const [alias, [target]] of Object.entries(paths)) {
  moduleNameMapper[`^${alias}$`] = path.join(__dirname, target);
}

module.exports = {
  testEnvironment: 'node',
  // Tests and hooks against real services: closing an app waits for its indexers' running
  // call, which on two busy cores took longer than Jest's 5 s default.
  testTimeout: 30_000,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/src/**/*.integration-spec.ts', '<rootDir>/src/**/*.e2e-spec.ts'],
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|uuid|canonicalize|content-disposition|@fastify)/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  moduleNameMapper,
};
