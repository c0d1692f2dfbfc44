export { TraceReplay, type ReplayStreamSession, type ReplayTraceStore, type TraceReplayLimits } from './lib/trace-replay';
export { ReplayModule, type ReplayModuleOptions, type PortBinding } from './lib/replay.module';
export {
  REPLAY_AUDIT,
  REPLAY_EXECUTOR,
  type ReplayAuditPort,
  type ReplayAuditEntry,
  replayAuditAction,
  NoopReplayAudit,
  InMemoryReplayAudit,
  type ReplayExecutor,
  type ReplayExecution,
  type ReplayExecutionContext,
  type ReexecutedStep,
  RecordedOutputExecutor,
} from './lib/ports';
export { resolveReplayOptions, mayEmitTraces } from './lib/replay-options';
export { MAX_SPEED, MAX_STREAM_WAIT_MS, playbackOffsets } from './lib/schedule';
export { RECENT_STEPS, MAX_MESSAGES, MAX_LISTED_BAD_STEPS, CONTENT_STEP_TYPES } from './lib/execution-state';
export type * from './lib/replay.types';
