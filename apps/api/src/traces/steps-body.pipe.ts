import { Injectable, type PipeTransform } from '@nestjs/common';
import { ValidationError } from '@aos/logs-domain';
import { createValidationPipe } from '../http';
import { StepBatchDto, StepDto } from './trace.dto';

export interface StepsBody {
  steps: StepDto[];
}

/** The steps route takes one step or `{steps: [...]}`; both become a batch. */
@Injectable()
export class StepsBodyPipe implements PipeTransform<unknown, Promise<StepsBody>> {
  private readonly validation = createValidationPipe();

  async transform(value: unknown): Promise<StepsBody> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw ValidationError.field('body', 'must be a step object or {"steps": [...]}');
    }
    if ('steps' in value) {
      return this.validation.transform(value, { type: 'body', metatype: StepBatchDto }) as Promise<StepBatchDto>;
    }
    const step = (await this.validation.transform(value, { type: 'body', metatype: StepDto })) as StepDto;
    return Object.assign(new StepBatchDto(), { steps: [step] });
  }
}
