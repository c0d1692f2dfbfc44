export { SystemLogService, type SystemLogSearch } from './lib/system-log.service';
export {
  PlatformLogger,
  type PlatformLoggerOptions,
  type PlatformLogSink,
  PLATFORM_LOGGER_OPTIONS,
  NEST_STARTUP_CONTEXTS,
} from './lib/platform-logger';
export { SystemLogsModule, type SystemLogsModuleOptions } from './lib/system-logs.module';
export { type RequestContext, runWithRequestContext, currentRequestContext } from './lib/request-context';
