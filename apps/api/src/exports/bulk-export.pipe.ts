import { Injectable, type PipeTransform } from '@nestjs/common';
import { type FieldError, LOG_TOPICS, type LogTopic, ValidationError } from '@aos/logs-domain';
import { EXPORT_FORMATS, type ExportFilters, type ExportFormat } from '@aos/export';
import { TopicFiltersPipe } from '../logs/logs.pipes';

export interface BulkExportRequest {
  topic: LogTopic;
  format: ExportFormat;
  filters: ExportFilters;
}

const PAGING = ['limit', 'offset', 'cursor', 'sort', 'order'];

/**
 * `{topic, format, filters}`: the filters are the topic's search filters
 * (validated by the same DTOs as its list, errors named `filters.<field>`),
 * without paging: an export holds every matching row.
 */
@Injectable()
export class BulkExportPipe implements PipeTransform<unknown, Promise<BulkExportRequest>> {
  private readonly topicFilters = new TopicFiltersPipe('body');

  async transform(value: unknown): Promise<BulkExportRequest> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw ValidationError.field('body', 'must be {"topic": ..., "format": ..., "filters": {...}}');
    }
    const { topic, format, filters = {}, ...rest } = value as Record<string, unknown>;
    const errors: FieldError[] = Object.keys(rest).map((k) => ({ field: k, message: 'property should not exist' }));
    if (typeof topic !== 'string' || !(LOG_TOPICS as readonly string[]).includes(topic)) {
      errors.push({ field: 'topic', message: `is required: one of ${LOG_TOPICS.join(', ')}` });
    }
    if (typeof format !== 'string' || !(EXPORT_FORMATS as readonly string[]).includes(format)) {
      errors.push({ field: 'format', message: `is required: one of ${EXPORT_FORMATS.join(', ')}` });
    }
    if (filters === null || typeof filters !== 'object' || Array.isArray(filters)) {
      errors.push({ field: 'filters', message: 'must be an object' });
    } else {
      for (const key of PAGING) {
        if (key in filters) errors.push({ field: `filters.${key}`, message: 'is not an export filter: an export holds every matching row' });
      }
      // The top-level topic decides; one here too would be overridden without a word.
      if ('topic' in filters) errors.push({ field: 'filters.topic', message: 'is not a filter: the topic is given at the top level' });
    }
    if (errors.length > 0) throw new ValidationError(errors);
    try {
      const { topic: _t, ...validated } = (await this.topicFilters.transform({ ...(filters as object), topic })) as unknown as Record<string, unknown>;
      const given = Object.fromEntries(Object.entries(validated).filter(([, v]) => v !== undefined));
      return { topic: topic as LogTopic, format: format as ExportFormat, filters: given as ExportFilters };
    } catch (err) {
      if (err instanceof ValidationError) throw new ValidationError(err.errors.map((e) => ({ ...e, field: `filters.${e.field}` })));
      throw err;
    }
  }
}
