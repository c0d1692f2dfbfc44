export {
  openTestDatabase,
  createTestDatabaseUrl,
  dropTestDatabase,
  openDatabaseBefore,
  TEST_SERVER_URL,
  type TestDatabase,
  type TestDatabaseKind,
} from './test-database';
