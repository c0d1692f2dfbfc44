export { openTestDatabase, TEST_SERVER_URL, type TestDatabase, type TestDatabaseKind } from './test-database';
