import { InitialSchema1769000000000 } from './1769000000000-initial-schema';
import { Incidents1769050000000 } from './1769050000000-incidents';
import { ExportJobs1769100000000 } from './1769100000000-export-jobs';
import { AsyncStepSearch1769200000000 } from './1769200000000-async-step-search';
import { QueryPerformance1769300000000 } from './1769300000000-query-performance';
import { Retention1769400000000 } from './1769400000000-retention';
import { RetentionFloor1769500000000 } from './1769500000000-retention-floor';
import { RefuseDrop1769550000000 } from './1769550000000-refuse-drop';
import { Ledger1769600000000 } from './1769600000000-ledger';
import { AsyncSystemLogSearch1769700000000 } from './1769700000000-async-system-log-search';
import { DropUnusedSystemLogIndex1769800000000 } from './1769800000000-drop-unused-system-log-index';
import { StepSearchPurgeTurns1769900000000 } from './1769900000000-step-search-purge-turns';
import { StepContentAsHashedText1770000000000 } from './1770000000000-step-content-as-hashed-text';
import { CheaperSystemLogSearchRows1770100000000 } from './1770100000000-cheaper-system-log-search-rows';
import { StepSearchStartedAt1770200000000 } from './1770200000000-step-search-started-at';
import { StepSearchByTenant1770300000000 } from './1770300000000-step-search-by-tenant';
import { StepSearchPartitionsReadable1770500000000 } from './1770500000000-step-search-partitions-readable';
import { SearchIndexBacklog1770600000000 } from './1770600000000-search-index-backlog';
import { SearchDocumentsInParts1770700000000 } from './1770700000000-search-documents-in-parts';
import { GuardsAlways1770800000000 } from './1770800000000-guards-always';
import { SearchChunksLinear1770900000000 } from './1770900000000-search-chunks-linear';

/** Every migration, in order. Run on start and by `npm run migrate`. */
export const MIGRATIONS = [
  InitialSchema1769000000000,
  Incidents1769050000000,
  ExportJobs1769100000000,
  AsyncStepSearch1769200000000,
  QueryPerformance1769300000000,
  Retention1769400000000,
  RetentionFloor1769500000000,
  RefuseDrop1769550000000,
  Ledger1769600000000,
  AsyncSystemLogSearch1769700000000,
  DropUnusedSystemLogIndex1769800000000,
  StepSearchPurgeTurns1769900000000,
  StepContentAsHashedText1770000000000,
  CheaperSystemLogSearchRows1770100000000,
  StepSearchStartedAt1770200000000,
  StepSearchByTenant1770300000000,
  StepSearchPartitionsReadable1770500000000,
  SearchIndexBacklog1770600000000,
  SearchDocumentsInParts1770700000000,
  GuardsAlways1770800000000,
  SearchChunksLinear1770900000000,
];
