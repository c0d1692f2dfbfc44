import { DataSource } from 'typeorm';
import { createTestDatabaseUrl, dropTestDatabase } from '../../testing';
import { MIGRATIONS } from '../migrations';
import { provisionAppRole } from './open-database';

/** Roles are cluster-wide: instances starting together provision the same role at once. */
describe('provisionAppRole on PostgreSQL', () => {
  it('succeeds for every one of many instances provisioning the serving role at the same moment', async () => {
    const urls = await Promise.all(Array.from({ length: 4 }, () => createTestDatabaseUrl()));
    const owners = urls.map((url) => new DataSource({ type: 'postgres', url, migrations: MIGRATIONS, migrationsTransactionMode: 'each', extra: { max: 1 } }));
    try {
      await Promise.all(owners.map((o) => o.initialize()));
      // The grants name the service's tables: migrate first.
      await Promise.all(owners.map((o) => o.runMigrations({ transaction: 'each' })));
      for (let round = 0; round < 3; round++) {
        await expect(Promise.all(owners.map((o) => provisionAppRole(o, 'aos_app', 'race-test-password')))).resolves.toHaveLength(4);
      }
    } finally {
      await Promise.all(owners.map((o) => (o.isInitialized ? o.destroy() : undefined)));
      await Promise.all(urls.map((u) => dropTestDatabase(u)));
    }
  }, 120_000);
});
