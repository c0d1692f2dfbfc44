import { type DynamicModule, Global, Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Database } from './database/database';
import { type DatabaseOptions, openDatabase } from './database/open-database';
import { EvidenceContextStore } from './evidence-context.store';
import { ExportJobStore } from './export-job.store';
import { TenantStore } from './tenant.store';
import { TraceStore } from './trace.store';
import { SystemLogStore } from './system-log.store';
import { AuditLogStore } from './audit-log.store';
import { LogLookup } from './log-lookup';
import { StepSearchIndexer } from './step-search-indexer';
import { SystemLogSearchIndexer } from './system-log-search-indexer';
import { RetentionStore } from './retention.store';
import { LedgerStore } from './ledger.store';

const INDEX_STEP_SEARCH = Symbol('INDEX_STEP_SEARCH');
const INDEX_SYSTEM_LOG_SEARCH = Symbol('INDEX_SYSTEM_LOG_SEARCH');

/** Starts the search indexers with the app; stops them, then closes the database, on shutdown. */
@Injectable()
class DatabaseLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(StepSearchIndexer) private readonly indexer: StepSearchIndexer,
    @Inject(INDEX_STEP_SEARCH) private readonly indexSearch: boolean,
    @Inject(SystemLogSearchIndexer) private readonly logIndexer: SystemLogSearchIndexer,
    @Inject(INDEX_SYSTEM_LOG_SEARCH) private readonly indexLogSearch: boolean,
  ) {}
  onApplicationBootstrap(): void {
    if (this.indexSearch) this.indexer.start();
    if (this.indexLogSearch) this.logIndexer.start();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.indexer.stop();
    await this.logIndexer.stop();
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
  static forRoot(options: DatabaseOptions & { /** Lifetime of export jobs and files, seconds (default 7 days). */ exportTtlSeconds?: number; /** Run the step search indexer in this process (default true). */ indexStepSearch?: boolean; /** Run the system-log search indexer in this process (default true). */ indexSystemLogSearch?: boolean; /** How far the search indexes may trail a burst of writes before they index flat out, seconds (default 60; 0: never yield to the writes). */ searchIndexMaxLagSeconds?: number; /** Append records to the tamper-evident ledger (default true; off only to benchmark its cost). */ ledger?: boolean }): DynamicModule {
    const indexerOptions = { maxLagMs: options.searchIndexMaxLagSeconds === undefined ? undefined : options.searchIndexMaxLagSeconds * 1000 };
    return {
      module: TracesStoreModule,
      providers: [
        { provide: Database, useFactory: () => openDatabase(options) },
        { provide: LedgerStore, useFactory: (db: Database) => new LedgerStore(db, options.ledger !== false), inject: [Database] },
        { provide: TraceStore, useFactory: (db: Database, ledger: LedgerStore) => new TraceStore(db, ledger), inject: [Database, LedgerStore] },
        { provide: StepSearchIndexer, useFactory: (db: Database) => new StepSearchIndexer(db, indexerOptions), inject: [Database] },
        { provide: INDEX_STEP_SEARCH, useValue: options.indexStepSearch !== false },
        { provide: SystemLogSearchIndexer, useFactory: (db: Database) => new SystemLogSearchIndexer(db, indexerOptions), inject: [Database] },
        { provide: INDEX_SYSTEM_LOG_SEARCH, useValue: options.indexSystemLogSearch !== false },
        { provide: TenantStore, useFactory: (db: Database) => new TenantStore(db), inject: [Database] },
        { provide: EvidenceContextStore, useFactory: (db: Database) => new EvidenceContextStore(db), inject: [Database] },
        { provide: SystemLogStore, useFactory: (db: Database, ledger: LedgerStore) => new SystemLogStore(db, ledger), inject: [Database, LedgerStore] },
        { provide: AuditLogStore, useFactory: (db: Database, ledger: LedgerStore) => new AuditLogStore(db, ledger), inject: [Database, LedgerStore] },
        { provide: LogLookup, useFactory: (db: Database) => new LogLookup(db), inject: [Database] },
        { provide: RetentionStore, useFactory: (db: Database) => new RetentionStore(db), inject: [Database] },
        {
          provide: ExportJobStore,
          useFactory: (db: Database) => new ExportJobStore(db, { ttlSeconds: options.exportTtlSeconds }),
          inject: [Database],
        },
        DatabaseLifecycle,
      ],
      exports: [Database, LedgerStore, TraceStore, StepSearchIndexer, SystemLogSearchIndexer, TenantStore, EvidenceContextStore, SystemLogStore, AuditLogStore, LogLookup, ExportJobStore, RetentionStore],
    };
  }
}
