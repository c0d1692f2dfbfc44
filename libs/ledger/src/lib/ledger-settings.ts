import { join, resolve } from 'node:path';
import { ConfigError, SettingsReader } from '@aos/logs-domain';
import { DEFAULT_CHECKPOINT_INTERVAL_MS } from './checkpoint-scheduler';
import type { LedgerModuleOptions } from './ledger.module';

export const DEFAULT_LEDGER_KEY_NAME = 'aos.local/ledger';

export interface LedgerSettings extends LedgerModuleOptions {
  /** Append records to the ledger (AOS_LEDGER=off only to measure its cost). */
  enabled: boolean;
}

/**
 * The ledger's settings, for the API and the worker alike (they must sign with
 * the same key): the key from AOS_LEDGER_SIGNING_KEY (PEM) or AOS_LEDGER_KEY_FILE
 * (default `<AOS_DATA_DIR>/ledger/signing-key.pem`, generated on first start),
 * checkpoints also written to AOS_LEDGER_CHECKPOINT_DIR and POSTed to
 * AOS_LEDGER_CHECKPOINT_WEBHOOK.
 */
export function ledgerSettings(env: NodeJS.ProcessEnv = process.env): LedgerSettings {
  const read = new SettingsReader(env);
  const dataDir = resolve(read.str('AOS_DATA_DIR') ?? './data');
  const switchValue = (read.str('AOS_LEDGER') ?? 'on').toLowerCase();
  if (!['on', 'off'].includes(switchValue)) throw new ConfigError(`AOS_LEDGER must be on or off, got "${switchValue}"`);
  const pem = read.str('AOS_LEDGER_SIGNING_KEY');
  return {
    enabled: switchValue === 'on',
    keyName: read.str('AOS_LEDGER_KEY_NAME') ?? DEFAULT_LEDGER_KEY_NAME,
    privateKeyPem: pem?.replace(/\\n/g, '\n'),
    keyFile: resolve(read.str('AOS_LEDGER_KEY_FILE') ?? join(dataDir, 'ledger', 'signing-key.pem')),
    directory: read.str('AOS_LEDGER_CHECKPOINT_DIR') === 'off' ? undefined : resolve(read.str('AOS_LEDGER_CHECKPOINT_DIR') ?? join(dataDir, 'ledger', 'checkpoints')),
    webhookUrl: read.url('AOS_LEDGER_CHECKPOINT_WEBHOOK', ['http:', 'https:']),
    checkpointIntervalMs: read.int('AOS_LEDGER_CHECKPOINT_INTERVAL_MS', DEFAULT_CHECKPOINT_INTERVAL_MS, 0, 24 * 3_600_000),
  };
}
