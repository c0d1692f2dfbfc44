import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { TenantStore } from '@aos/traces-store';
import { AppModule } from './app.module';
import type { AppConfig } from './config/app-config';
import { configureHttp, createFastifyAdapter } from './http';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Builds the API (used by main.ts and the end-to-end tests): routes, hardening, OpenAPI, first-start tenant. */
export async function createApp(config: AppConfig, options: { logger?: boolean } = {}): Promise<NestFastifyApplication> {
  const adapter = createFastifyAdapter({ bodyLimit: config.bodyLimit, trustProxy: config.trustProxy.length ? config.trustProxy : false });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: options.logger === false ? false : LEVELS.slice(0, LEVELS.indexOf(config.logLevel) + 1),
    abortOnError: false,
  });
  configureHttp(app, { bodyLimit: config.bodyLimit });
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('AOS Logs domain service')
      .setDescription(
        'Immutable, hash-verified LLM run traces, system logs and audit trail. Errors are RFC 9457 problem details. ' +
          'Authenticate with `Authorization: Bearer <api key>`.',
      )
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });

  await ensureDevelopmentTenant(app, config);
  return app;
}

/** First start: the development tenant and its admin key (printed once unless given). */
async function ensureDevelopmentTenant(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const { tenant, key, created } = await app.get(TenantStore).ensureDevelopmentTenant(config.bootstrapApiKey);
  if (!created) return;
  const logger = new Logger('Bootstrap');
  logger.log(`Created the development tenant ${tenant.tenant_id}`);
  if (key) {
    // Shown once: only its hash is stored.
    process.stdout.write(`\n  Development admin API key (shown once, store it now):\n\n    ${key}\n\n`);
  } else {
    logger.log('Its admin key is AOS_BOOTSTRAP_API_KEY');
  }
}
