export * from './lib/enums';
export * from './lib/errors';
export * from './lib/model';
export * from './lib/time';
export * from './lib/hashing';
export * from './lib/json-safety';
export * from './lib/evidence';
