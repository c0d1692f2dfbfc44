// `npm test` runs every project's tests: unit (*.spec.ts), integration against
// real PostgreSQL/PGlite/Redis (*.integration-spec.ts) and HTTP (*.e2e-spec.ts).
module.exports = { projects: ['<rootDir>/libs/*', '<rootDir>/apps/*'] };
