import { Controller, Get, HttpCode } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { UnavailableError } from '@aos/logs-domain';
import { Database } from '@aos/traces-store';
import { Public } from '../auth/principal';

class HealthDto {
  @ApiProperty({ example: 'ok' }) status: string;
  @ApiProperty({ example: { database: 'up' }, required: false }) checks?: Record<string, string>;
}

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly db: Database) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up' })
  @ApiOkResponse({ type: HealthDto })
  live(): HealthDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @HttpCode(200)
  @ApiOperation({ summary: 'The database answers' })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down' })
  async ready(): Promise<HealthDto> {
    try {
      await this.db.query('SELECT 1');
    } catch {
      throw new UnavailableError('database is not reachable', { checks: { database: 'down' } });
    }
    return { status: 'ok', checks: { database: 'up' } };
  }
}
