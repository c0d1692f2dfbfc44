export { configureHttp, type HttpHardeningOptions } from './configure-http';
export {
  answerClientError,
  answerFrameworkError,
  configureBodyParsing,
  createFastifyAdapter,
  type FastifyAdapterOptions,
} from './fastify';
export { parseJsonBody } from './json-body';
export { installMethodNotAllowed } from './method-not-allowed';
export { QueryParametersInterceptor } from './query-parameters.interceptor';
export { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE, type ProblemDetails } from './problem';
export { ProblemDetailsFilter, toProblem } from './problem-details.filter';
export {
  createValidationPipe,
  flattenValidationErrors,
  StrictValidationPipe,
  UuidParamPipe,
  validationExceptionFactory,
} from './validation';
