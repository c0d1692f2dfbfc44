import {
  CORRELATION_ID_MAX_LENGTH,
  isRfc3339,
  MAX_SYSTEM_LOGS_PER_BATCH,
  type NewSystemLog,
  SYSTEM_LOG_LEVELS,
  SYSTEM_LOG_MESSAGE_MAX_LENGTH,
  SYSTEM_LOG_SOURCE_MAX_LENGTH,
} from '@aos/logs-domain';
import { fastValidBatch, isPlainJsonObject } from '../common/validators';

/**
 * The fast path of `POST /api/v1/logs/system`, as `fastValidSteps` is of the
 * steps route: one pass over a parsed body that answers the logs when they are
 * certainly valid under SystemLogInputDto / SystemLogBatchDto (class-validator
 * with `whitelist` and `forbidNonWhitelisted`), and null otherwise. Null is not
 * an error: the caller then runs the DTOs, which name every offending field.
 * So this may only ever be stricter than the DTOs, never looser: where their
 * rule is subtle (MaxLength counts a surrogate pair as one character) it
 * accepts the plain case and leaves the rest to them.
 *
 * The logs answered are the parsed objects themselves (no copy).
 */
export function fastValidSystemLogs(body: unknown): NewSystemLog[] | null {
  return fastValidBatch<NewSystemLog>(body, 'logs', MAX_SYSTEM_LOGS_PER_BATCH, isValidSystemLog);
}

const LEVELS: ReadonlySet<unknown> = new Set(SYSTEM_LOG_LEVELS);

/** Every SystemLogInputDto rule, on one parsed log. */
export function isValidSystemLog(value: unknown): boolean {
  if (!isPlainJsonObject(value)) return false;
  let level = false;
  let source = false;
  let message = false;
  for (const key in value) {
    const v = value[key];
    switch (key) {
      case 'level':
        if (!LEVELS.has(v)) return false;
        level = true;
        break;
      case 'source':
        if (!isText(v, SYSTEM_LOG_SOURCE_MAX_LENGTH)) return false;
        source = true;
        break;
      case 'message':
        if (!isText(v, SYSTEM_LOG_MESSAGE_MAX_LENGTH)) return false;
        message = true;
        break;
      // @IsOptional(): null passes the DTO like an absent field, but the store
      // refuses a null timestamp; leave both to the reference path.
      case 'timestamp':
        if (typeof v !== 'string' || !isRfc3339(v)) return false;
        break;
      case 'context':
        if (v !== null && !isPlainJsonObject(v)) return false;
        break;
      case 'trace_id':
      case 'request_id':
        if (v !== null && (typeof v !== 'string' || v.length > CORRELATION_ID_MAX_LENGTH)) return false;
        break;
      default:
        return false;
    }
  }
  return level && source && message;
}

/** @IsString() @MinLength(1) @MaxLength(max), in UTF-16 code units (stricter than the DTO's count). */
function isText(v: unknown, max: number): boolean {
  return typeof v === 'string' && v.length >= 1 && v.length <= max;
}
