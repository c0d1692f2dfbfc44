import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ledgerSettings } from '@aos/ledger';
import type { ApiKeyRole } from '@aos/logs-domain';
import { TenantStore } from '@aos/traces-store';
import { createTestDatabaseUrl, dropTestDatabase } from '@aos/traces-store/testing';
import { createApp } from '../bootstrap';
import { type AppConfig, loadConfig } from '../config/app-config';

export const BOOTSTRAP_KEY = 'e2e-bootstrap-admin-key-000000000000';
export const PLATFORM_KEY = 'e2e-platform-operator-key-0000000000';

/** The real API on a fresh PostgreSQL database, listening on a free loopback port. */
export interface E2eApp {
  app: NestFastifyApplication;
  baseUrl: string;
  databaseUrl: string;
  /** Admin key of the development tenant. */
  adminKey: string;
  /** A new tenant with a key of the given role. */
  newTenant(role?: ApiKeyRole): Promise<{ tenantId: string; key: string }>;
  /** Another key of an existing tenant. */
  newKey(tenantId: string, role: ApiKeyRole): Promise<string>;
  /** fetch against the app with a Bearer key and a JSON body. */
  request(method: string, path: string, opts?: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

export async function startE2eApp(overrides: Partial<AppConfig> = {}): Promise<E2eApp> {
  const databaseUrl = await createTestDatabaseUrl();
  // The ledger's key and published checkpoints live in a directory of this app's own.
  const ledgerDir = mkdtempSync(join(tmpdir(), 'aos-e2e-ledger-'));
  const config: AppConfig = {
    ...loadConfig({}),
    ledger: ledgerSettings({ AOS_DATA_DIR: ledgerDir }),
    databaseUrl,
    bootstrapApiKey: BOOTSTRAP_KEY,
    platformApiKey: PLATFORM_KEY,
    logLevel: 'error',
    port: 0,
    host: '127.0.0.1',
    ...overrides,
  };
  const app = await createApp(config, { logger: process.env["E2E_LOG"] ? undefined : false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const tenants = app.get(TenantStore);
  const newKey = async (tenantId: string, role: ApiKeyRole) => (await tenants.createApiKey(tenantId, { name: `e2e-${role}`, role })).key;
  return {
    app,
    baseUrl,
    databaseUrl,
    adminKey: BOOTSTRAP_KEY,
    newKey,
    async newTenant(role: ApiKeyRole = 'admin') {
      const tenant = await tenants.createTenant(`e2e-${Math.random().toString(36).slice(2)}`, 'none');
      return { tenantId: tenant.tenant_id, key: await newKey(tenant.tenant_id, role) };
    },
    request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      const key = opts.key === undefined ? BOOTSTRAP_KEY : opts.key;
      if (key) headers['authorization'] = `Bearer ${key}`;
      let body: string | undefined = opts.raw;
      if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      return fetch(`${baseUrl}${path}`, { method, headers, body });
    },
    async close() {
      await app.close();
      await dropTestDatabase(databaseUrl);
      rmSync(ledgerDir, { recursive: true, force: true });
    },
  };
}

/** A small step of a test trace: step 0 is the input, the rest LLM calls, one second apart. */
export const sampleStep = (i: number, extra: Record<string, unknown> = {}) => ({
  step_index: i,
  step_type: i === 0 ? 'input' : 'llm_call',
  timestamp: new Date(Date.UTC(2026, 0, 20, 10, 0, i)).toISOString(),
  tokens: 10,
  input_data: { q: `question ${i}` },
  output_data: { a: `answer ${i}` },
  ...extra,
});
