import { Controller, Get, HttpCode } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { UnavailableError } from '@aos/logs-domain';
import { PdfJobQueue } from '@aos/evidence-pdf';
import { Database } from '@aos/traces-store';
import { Public } from '../auth/principal';

class HealthDto {
  @ApiProperty({ example: 'ok' }) status: string;
  @ApiProperty({ example: { database: 'up', queue: 'in-process' }, required: false }) checks?: Record<string, string>;
}

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly db: Database,
    private readonly pdfJobs: PdfJobQueue,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up' })
  @ApiOkResponse({ type: HealthDto })
  live(): HealthDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @HttpCode(200)
  @ApiOperation({ summary: 'The database answers (and Redis, when REDIS_URL is set)' })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down' })
  async ready(): Promise<HealthDto> {
    const checks: Record<string, string> = {};
    checks['database'] = await this.db.query('SELECT 1').then(
      () => 'up',
      () => 'down',
    );
    const queue = await this.pdfJobs.health().catch(() => ({ kind: 'bullmq', status: 'down' }) as const);
    checks[queue.kind === 'bullmq' ? 'redis' : 'queue'] = queue.kind === 'bullmq' ? queue.status : 'in-process';
    if (Object.values(checks).includes('down')) throw new UnavailableError('a dependency is not reachable', { checks });
    return { status: 'ok', checks };
  }
}
