import { type DynamicModule, Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Database } from './database/database';
import { type DatabaseOptions, openDatabase } from './database/open-database';
import { TenantStore } from './tenant.store';
import { TraceStore } from './trace.store';

@Injectable()
class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(Database) private readonly db: Database) {}
  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}

/**
 * Persistence for any NestJS service: `TracesStoreModule.forRoot({ databaseUrl })`
 * opens (and migrates) the database and provides the stores.
 */
@Global()
@Module({})
export class TracesStoreModule {
  static forRoot(options: DatabaseOptions): DynamicModule {
    return {
      module: TracesStoreModule,
      providers: [
        { provide: Database, useFactory: () => openDatabase(options) },
        { provide: TraceStore, useFactory: (db: Database) => new TraceStore(db), inject: [Database] },
        { provide: TenantStore, useFactory: (db: Database) => new TenantStore(db), inject: [Database] },
        DatabaseLifecycle,
      ],
      exports: [Database, TraceStore, TenantStore],
    };
  }
}
