import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LedgerStore, TraceStore } from '@aos/traces-store';
import { CheckpointPublisher, type CheckpointPublisherOptions } from './checkpoint-publisher';
import { CheckpointScheduler, DEFAULT_CHECKPOINT_INTERVAL_MS } from './checkpoint-scheduler';
import { type LedgerKeyOptions, LedgerSigner } from './ledger-signer';
import { LedgerService } from './ledger.service';

export interface LedgerModuleOptions extends LedgerKeyOptions, CheckpointPublisherOptions {
  /** How often checkpoints are signed, ms (default 10 s); 0: only on demand. */
  checkpointIntervalMs?: number;
}

/**
 * The ledger's signing, proofs and audit for any NestJS service (needs
 * `TracesStoreModule.forRoot`): `LedgerModule.forRoot({ keyName, keyFile })`.
 * Global, so exports (libs/export) can sign evidence with it.
 */
@Global()
@Module({})
export class LedgerModule {
  static forRoot(options: LedgerModuleOptions): DynamicModule {
    return {
      module: LedgerModule,
      providers: [
        { provide: LedgerSigner, useFactory: () => LedgerSigner.load(options) },
        { provide: CheckpointPublisher, useFactory: () => new CheckpointPublisher(options) },
        {
          provide: LedgerService,
          useFactory: (store: LedgerStore, traces: TraceStore, signer: LedgerSigner, publisher: CheckpointPublisher) =>
            new LedgerService(store, traces, signer, publisher),
          inject: [LedgerStore, TraceStore, LedgerSigner, CheckpointPublisher],
        },
        {
          provide: CheckpointScheduler,
          useFactory: (ledger: LedgerService) => new CheckpointScheduler(ledger, options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS),
          inject: [LedgerService],
        },
      ],
      exports: [LedgerService, LedgerSigner, CheckpointScheduler],
    };
  }
}
