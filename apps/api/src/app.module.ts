import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TracesStoreModule } from '@aos/traces-store';
import { ApiKeyGuard } from './auth/api-key.guard';
import { APP_CONFIG, type AppConfig } from './config/app-config';
import { HealthController } from './health/health.controller';
import { LlmRunsController } from './llm-runs/llm-runs.controller';
import { ApiKeysController, TenantsController } from './tenants/tenants.controller';
import { TenantsService } from './tenants/tenants.service';
import { TracesController } from './traces/traces.controller';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TracesStoreModule.forRoot({
          databaseUrl: config.databaseUrl,
          databaseAppUrl: config.databaseAppUrl,
          dataDir: config.dataDir,
        }),
      ],
      controllers: [HealthController, TracesController, LlmRunsController, TenantsController, ApiKeysController],
      providers: [{ provide: APP_CONFIG, useValue: config }, { provide: APP_GUARD, useClass: ApiKeyGuard }, TenantsService],
    };
  }
}
