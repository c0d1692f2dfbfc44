import 'reflect-metadata';

/**
 * The background worker (BullMQ). Its processors (PDF bundles, retention purge)
 * arrive with their issues; until then it starts, reports, and exits cleanly.
 */
async function main(): Promise<void> {
  process.stdout.write('aos worker: no queues configured yet\n');
}

main().catch((err) => {
  process.stderr.write(`worker failed: ${String(err)}\n`);
  process.exit(1);
});
