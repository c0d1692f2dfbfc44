import {
  type ClassProvider,
  type DynamicModule,
  type ExistingProvider,
  type FactoryProvider,
  Injectable,
  Module,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type Provider,
  type ValueProvider,
} from '@nestjs/common';
import { BundleSource } from '@aos/logs-domain';
import { BullMqPdfDispatcher } from './bullmq-pdf-dispatcher';
import { EvidencePdfJob } from './evidence-pdf.job';
import { EXPORT_CLEANUP_INTERVAL_MS, ExportCleanup } from './export-cleanup';
import { IN_PROCESS_QUEUE_OPTIONS, InProcessPdfDispatcher } from './in-process-pdf-dispatcher';
import type { InProcessQueueOptions } from './in-process-queue';
import { PDF_RENDERER_OPTIONS, PdfRenderer, type PdfRendererOptions } from './pdf-renderer';
import { PDF_JOB_DISPATCHER, PdfJobQueue } from './pdf-job-queue';

/** How `BundleSource` is bound, e.g. `{ useExisting: LogExportServiceBundleSource }`. */
export type BundleSourceBinding =
  | Omit<ClassProvider<BundleSource>, 'provide'>
  | Omit<ExistingProvider<BundleSource>, 'provide'>
  | Omit<FactoryProvider<BundleSource>, 'provide'>
  | Omit<ValueProvider<BundleSource>, 'provide'>;

export interface EvidencePdfModuleOptions {
  /** With a Redis URL, jobs go to BullMQ for `apps/worker`; without, they run in this process. */
  redisUrl?: string;
  /** BullMQ key prefix (default `aos`); API and workers must agree. */
  queuePrefix?: string;
  /** Where bundles come from: the applications bind LogExportService (libs/export). */
  bundleSource: BundleSourceBinding;
  /** Modules that provide what `bundleSource` needs. */
  imports?: ModuleMetadata['imports'];
  /** Chromium, concurrency, recycling, timeout (where jobs run). */
  renderer?: PdfRendererOptions;
  /** Retries and concurrency of the in-process queue (without Redis). */
  inProcess?: InProcessQueueOptions;
  /** How often expired exports are removed where jobs run, ms (default 1 h; 0 turns it off). */
  cleanupIntervalMs?: number;
}

/** Closes the BullMQ producer connection on shutdown. */
@Injectable()
class DispatcherLifecycle implements OnApplicationShutdown {
  constructor(private readonly dispatcher: BullMqPdfDispatcher) {}
  async onApplicationShutdown(): Promise<void> {
    await this.dispatcher.close();
  }
}

/**
 * PDF evidence bundles as NestJS modules. Needs `TracesStoreModule.forRoot(...)`
 * (global) in the application.
 *
 * - `forRoot(options)`: the API side (global). Provides `PdfJobQueue` (enqueue). With
 *   `redisUrl` it only adds jobs to BullMQ: no renderer, no processor in the API.
 *   Without it, the processor, the renderer and the in-process queue live here.
 * - `forWorker(options)`: the worker side. Provides `EvidencePdfJob` (the
 *   processor) with its `PdfRenderer` and the expired-export cleanup; the
 *   worker app attaches it to a BullMQ Worker.
 */
@Module({})
export class EvidencePdfModule {
  static forRoot(options: EvidencePdfModuleOptions): DynamicModule {
    if (options.redisUrl) {
      const redisUrl = options.redisUrl;
      return {
        module: EvidencePdfModule,
        global: true,
        imports: options.imports ?? [],
        providers: [
          { provide: BullMqPdfDispatcher, useFactory: () => new BullMqPdfDispatcher({ redisUrl, prefix: options.queuePrefix }) },
          { provide: PDF_JOB_DISPATCHER, useExisting: BullMqPdfDispatcher },
          DispatcherLifecycle,
          PdfJobQueue,
        ],
        exports: [PdfJobQueue],
      };
    }
    return {
      module: EvidencePdfModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        ...processorProviders(options),
        { provide: IN_PROCESS_QUEUE_OPTIONS, useValue: options.inProcess ?? {} },
        InProcessPdfDispatcher,
        { provide: PDF_JOB_DISPATCHER, useExisting: InProcessPdfDispatcher },
        PdfJobQueue,
      ],
      exports: [PdfJobQueue, InProcessPdfDispatcher, PdfRenderer],
    };
  }

  static forWorker(options: Omit<EvidencePdfModuleOptions, 'redisUrl' | 'queuePrefix' | 'inProcess'>): DynamicModule {
    return {
      module: EvidencePdfModule,
      imports: options.imports ?? [],
      providers: processorProviders(options),
      exports: [EvidencePdfJob, PdfRenderer, ExportCleanup],
    };
  }
}

function processorProviders(options: EvidencePdfModuleOptions): Provider[] {
  return [
    { provide: PDF_RENDERER_OPTIONS, useValue: options.renderer ?? {} },
    PdfRenderer,
    { provide: BundleSource, ...options.bundleSource } as Provider,
    EvidencePdfJob,
    { provide: EXPORT_CLEANUP_INTERVAL_MS, useValue: options.cleanupIntervalMs ?? 3_600_000 },
    ExportCleanup,
  ];
}
