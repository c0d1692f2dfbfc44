import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { openDatabase } from '@aos/traces-store';
import { createApp } from './bootstrap';
import { ConfigError, loadConfig } from './config/app-config';

/** `node main.js` serves the API; `node main.js migrate` only migrates. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (process.argv[2] === 'migrate') {
    const db = await openDatabase({ databaseUrl: config.databaseUrl, databaseAppUrl: config.databaseAppUrl, dataDir: config.dataDir });
    await db.close();
    process.stdout.write('migrations applied\n');
    return;
  }
  const app = await createApp(config);
  await app.listen({ port: config.port, host: config.host });
  const where = config.databaseUrl ? 'PostgreSQL' : `embedded PostgreSQL in ${config.dataDir}`;
  new Logger('Bootstrap').log(`AOS Logs API on http://localhost:${config.port} (${where}); docs at /api/docs`);
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`Invalid configuration: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
