export {
  openTestDatabase,
  createTestDatabaseUrl,
  dropTestDatabase,
  TEST_SERVER_URL,
  type TestDatabase,
  type TestDatabaseKind,
} from './test-database';
