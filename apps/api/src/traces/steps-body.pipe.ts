import { Injectable, type PipeTransform } from '@nestjs/common';
import { type FieldError, type JsonValue, type NewStep, ValidationError } from '@aos/logs-domain';
import { createValidationPipe } from '../http';
import { fastValidSteps } from './steps-validator';
import { StepBatchDto, StepDto } from './trace.dto';

export interface StepsBody {
  steps: NewStep[];
}

/** Step fields holding free-form JSON: validated by the JSON body guard, never copied by class-transformer. */
const FREE_FORM = ['input_data', 'output_data', 'metadata'] as const;
type FreeForm = Partial<Record<(typeof FREE_FORM)[number], JsonValue>>;

/**
 * The steps route takes one step or `{steps: [...]}`; both become a batch.
 * A body that passes the single-pass check of `fastValidSteps` is answered as
 * parsed (the hottest route skips class-validator and class-transformer).
 * Any other body goes through the DTOs, which name every offending field: the
 * typed fields are validated there; the free-form payloads (most of a step's
 * bytes) are set aside first, so class-transformer does not deep-copy them,
 * and put back unchanged.
 */
@Injectable()
export class StepsBodyPipe implements PipeTransform<unknown, Promise<StepsBody>> {
  private readonly validation = createValidationPipe();

  async transform(value: unknown): Promise<StepsBody> {
    const valid = fastValidSteps(value);
    return valid ? { steps: valid } : this.throughDtos(value);
  }

  /** The reference path: the DTOs decide, and name each offending field. */
  async throughDtos(value: unknown): Promise<StepsBody> {
    if (!isObject(value)) throw ValidationError.field('body', 'must be a step object or {"steps": [...]}');
    const batch = 'steps' in value;
    const raw = batch ? value['steps'] : [value];
    if (!Array.isArray(raw)) {
      // Not a list: let the DTO report it as it reports every other shape error.
      return (await this.validation.transform(value, { type: 'body', metatype: StepBatchDto })) as StepBatchDto;
    }
    const payloads: FreeForm[] = [];
    const errors: FieldError[] = [];
    const typed = raw.map((step, i) => {
      if (!isObject(step)) {
        // ValidateNested lets an array item through (it reports other non-objects itself).
        if (Array.isArray(step)) errors.push({ field: `steps[${i}]`, message: 'must be a step object' });
        return step;
      }
      const { input_data, output_data, metadata, ...rest } = step as Record<string, JsonValue>;
      payloads[i] = { input_data, output_data, metadata };
      if (metadata !== undefined && metadata !== null && !isObject(metadata)) {
        errors.push({ field: `${batch ? `steps[${i}].` : ''}metadata`, message: 'must be an object' });
      }
      return rest;
    });
    let steps: StepDto[];
    try {
      steps = batch
        ? ((await this.validation.transform({ ...value, steps: typed }, { type: 'body', metatype: StepBatchDto })) as StepBatchDto).steps
        : [(await this.validation.transform(typed[0], { type: 'body', metatype: StepDto })) as StepDto];
    } catch (err) {
      if (err instanceof ValidationError) throw new ValidationError([...err.errors, ...errors]);
      throw err;
    }
    if (errors.length > 0) throw new ValidationError(errors);
    steps.forEach((step, i) => {
      for (const key of FREE_FORM) if (payloads[i]?.[key] !== undefined) step[key] = payloads[i][key] as never;
    });
    return { steps };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
