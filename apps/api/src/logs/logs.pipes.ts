import { Injectable, type PipeTransform } from '@nestjs/common';
import { LOG_TOPICS, type NewSystemLog, ValidationError } from '@aos/logs-domain';
import { createValidationPipe } from '../http';
import {
  AuditTopicFiltersDto,
  LlmRunsTopicFiltersDto,
  SystemLogBatchDto,
  SystemLogInputDto,
  SystemTopicFiltersDto,
  type TopicFiltersDto,
} from './logs.dto';
import { fastValidSystemLogs } from './system-logs-validator';

/**
 * POST /api/v1/logs/system takes one log or `{logs: [...]}`; both become a
 * batch. A body that passes the single-pass check of `fastValidSystemLogs` is
 * answered as parsed (a batch of 1000 skips class-validator and
 * class-transformer); any other goes through the DTOs, which name every
 * offending field.
 */
@Injectable()
export class SystemLogsBodyPipe implements PipeTransform<unknown, Promise<{ logs: NewSystemLog[] }>> {
  private readonly validation = createValidationPipe();

  async transform(value: unknown): Promise<{ logs: NewSystemLog[] }> {
    const valid = fastValidSystemLogs(value);
    return valid ? { logs: valid } : this.throughDtos(value);
  }

  /** The reference path: the DTOs decide, and name each offending field. */
  async throughDtos(value: unknown): Promise<SystemLogBatchDto> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw ValidationError.field('body', 'must be a log object or {"logs": [...]}');
    }
    if ('logs' in value) {
      return (await this.validation.transform(value, { type: 'body', metatype: SystemLogBatchDto })) as SystemLogBatchDto;
    }
    const log = (await this.validation.transform(value, { type: 'body', metatype: SystemLogInputDto })) as SystemLogInputDto;
    return Object.assign(new SystemLogBatchDto(), { logs: [log] });
  }
}

const TOPIC_DTOS = { llm_runs: LlmRunsTopicFiltersDto, system: SystemTopicFiltersDto, audit: AuditTopicFiltersDto } as const;

/**
 * The cross-topic list and search (`GET /api/v1/logs/?topic=`, `POST
 * /api/v1/logs/search`): `topic` is required and selects which filters are
 * valid; anything else is 400 naming the field, like every list.
 */
export class TopicFiltersPipe implements PipeTransform<unknown, Promise<TopicFiltersDto>> {
  private readonly validation = createValidationPipe();

  constructor(private readonly type: 'query' | 'body') {}

  async transform(value: unknown): Promise<TopicFiltersDto> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw ValidationError.field(this.type === 'body' ? 'body' : 'query', 'must be an object with a topic');
    }
    const topic = (value as { topic?: unknown }).topic;
    if (topic === undefined || topic === null || topic === '') {
      throw ValidationError.field('topic', `is required: one of ${LOG_TOPICS.join(', ')}`);
    }
    if (typeof topic !== 'string' || !(LOG_TOPICS as readonly string[]).includes(topic)) {
      throw ValidationError.field('topic', `must be one of ${LOG_TOPICS.join(', ')}`);
    }
    const metatype = TOPIC_DTOS[topic as keyof typeof TOPIC_DTOS];
    return (await this.validation.transform(value, { type: this.type, metatype })) as TopicFiltersDto;
  }
}
