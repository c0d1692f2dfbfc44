import { isRfc3339, type NewStep, STEP_LEVELS, STEP_TYPES } from '@aos/logs-domain';
import { MAX_STEPS_PER_BATCH } from '@aos/traces-store';
import { fastValidBatch, INT32_MAX, isPlainJsonObject } from '../common/validators';

/**
 * The fast path of the steps route: one pass over a parsed body that answers
 * the steps when they are certainly valid under StepDto / StepBatchDto (the
 * rules class-validator applies, with `whitelist` and `forbidNonWhitelisted`),
 * and null otherwise. Null is not an error: the caller then runs the DTO
 * pipeline, which names every offending field exactly as it always has. So
 * this function may only ever be stricter than the DTOs, never looser; where a
 * rule of theirs is subtle (MaxLength counts a surrogate pair as one character)
 * it accepts the plain case and leaves the rest to them.
 *
 * The steps answered are the parsed objects themselves (no copy): they hold
 * only the fields of NewStep, with the values the DTOs would have kept.
 */
export function fastValidSteps(body: unknown): NewStep[] | null {
  return fastValidBatch<NewStep>(body, 'steps', MAX_STEPS_PER_BATCH, isValidStep);
}

const TYPES: ReadonlySet<unknown> = new Set(STEP_TYPES);
const LEVELS: ReadonlySet<unknown> = new Set(STEP_LEVELS);
/** MaxLength(200) of `source`, in UTF-16 code units (the DTO counts a surrogate pair as one). */
const MAX_SOURCE_LENGTH = 200;

/** Every StepDto rule, on one parsed step. */
export function isValidStep(value: unknown): boolean {
  if (!isPlainJsonObject(value)) return false;
  let index = false;
  let type = false;
  let timestamp = false;
  for (const key in value) {
    const v = value[key];
    switch (key) {
      case 'step_index':
        if (!isCounter(v)) return false;
        index = true;
        break;
      case 'step_type':
        if (!TYPES.has(v)) return false;
        type = true;
        break;
      case 'timestamp':
        if (typeof v !== 'string' || !isRfc3339(v)) return false;
        timestamp = true;
        break;
      // @IsOptional(): null passes like an absent field.
      case 'level':
        if (v !== null && !LEVELS.has(v)) return false;
        break;
      case 'source':
        if (v !== null && (typeof v !== 'string' || v.length > MAX_SOURCE_LENGTH)) return false;
        break;
      case 'tokens':
      case 'cost_cents':
      case 'duration_ms':
        if (v !== null && !isCounter(v)) return false;
        break;
      case 'metadata':
        if (v !== null && !isPlainJsonObject(v)) return false;
        break;
      case 'input_data':
      case 'output_data':
        // Any JSON value; the body guard has already checked its content.
        if (v === undefined) return false;
        break;
      default:
        return false;
    }
  }
  return index && type && timestamp;
}

/** @IsInt() @Min(0) @Max(INT32_MAX). */
function isCounter(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= INT32_MAX;
}
