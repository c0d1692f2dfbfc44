import { UnavailableError } from '@aos/logs-domain';
import { LogExportService } from './log-export.service';

/** The search-index catch-up of LogExportService.exportLogs (end to end: apps/api exports.e2e-spec.ts). */
describe(LogExportService.name, () => {
  const rows = (async function* () {
    // No rows: the tests read no export stream.
  })();
  const make = (caughtUp: boolean) => {
    const calls: string[] = [];
    const indexer = (name: string) => ({ catchUp: async () => (calls.push(name), caughtUp) });
    const stores = { streamTraces: () => rows, stream: () => rows };
    const service = new LogExportService(
      stores as never,
      stores as never,
      stores as never,
      {} as never,
      { logAction: async () => undefined } as never,
      { kind: 'embedded' } as never,
      indexer('steps') as never,
      indexer('system logs') as never,
    );
    return { service, calls };
  };
  const actor = { tenantId: 't', actorId: 'a', actorType: 'api_key' as const };

  it('waits for the index of the topic searched, and only with a search term', async () => {
    const { service, calls } = make(true);
    await service.exportLogs(actor, 'llm_runs', { search: 'refund' }, 'json');
    await service.exportLogs(actor, 'system', { search: 'timeout' }, 'json');
    await service.exportLogs(actor, 'llm_runs', { status: 'failed' }, 'json');
    await service.exportLogs(actor, 'audit', { search: 'login' }, 'json'); // indexed as written
    expect(calls).toEqual(['steps', 'system logs']);
  });

  it('answers 503 when the index cannot take in the earlier writes in time', async () => {
    const { service } = make(false);
    await expect(service.exportLogs(actor, 'llm_runs', { search: 'refund' }, 'csv')).rejects.toThrow(UnavailableError);
    await expect(service.exportLogs(actor, 'system', { search: 'refund' }, 'csv')).rejects.toThrow(/search index is still taking in a burst of writes/);
  });
});
