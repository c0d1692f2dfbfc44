import { InitialSchema1769000000000 } from './1769000000000-initial-schema';

/** Every migration, in order. Run on start and by `npm run migrate`. */
export const MIGRATIONS = [InitialSchema1769000000000];
