import { type FieldError, ForbiddenError, REPLAY_MODES, type ReplayMode, ValidationError } from '@aos/logs-domain';
import type { ReplayActor, ReplayOptions, StreamOptions } from './replay.types';
import { MAX_SPEED } from './schedule';

export interface ResolvedReplayOptions {
  mode: ReplayMode;
  emit_traces: boolean;
  speed: number;
  actor: ReplayActor;
}

function checkSpeed(speed: unknown, errors: FieldError[]): number {
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed < 0 || speed > MAX_SPEED) {
    errors.push({ field: 'speed', message: `must be a number from 0 to ${MAX_SPEED}` });
    return 1;
  }
  return speed;
}

/**
 * Defaults and rules of DESIGN.md 8 and spec 9: mode AUDIT, emit_traces false,
 * speed 1; emit_traces only with RERUN (400 on `emit_traces`); RERUN with
 * emit_traces writes a trace, so it needs an admin key or an in-process system caller (403).
 * RERUN without emit_traces is a dry re-execution that writes nothing.
 */
export function resolveReplayOptions(options: ReplayOptions): ResolvedReplayOptions {
  const errors: FieldError[] = [];
  const mode = options.mode ?? 'AUDIT';
  if (!REPLAY_MODES.includes(mode)) errors.push({ field: 'mode', message: `must be one of ${REPLAY_MODES.join(', ')}` });
  const emit = options.emit_traces ?? false;
  if (typeof emit !== 'boolean') errors.push({ field: 'emit_traces', message: 'must be a boolean' });
  else if (emit && mode !== 'RERUN') {
    errors.push({ field: 'emit_traces', message: 'is only allowed with mode RERUN: AUDIT and DEBUG replays never write traces' });
  }
  const speed = checkSpeed(options.speed ?? 1, errors);
  if (errors.length > 0) throw new ValidationError(errors);
  if (emit && !mayEmitTraces(options.actor)) {
    throw new ForbiddenError('RERUN with emit_traces writes a new trace: it needs the admin role');
  }
  return { mode, emit_traces: emit, speed, actor: options.actor };
}

/** Stream replays are AUDIT or DEBUG (a stream never writes). */
export function resolveStreamOptions(options: StreamOptions): ResolvedReplayOptions & { resume_after?: number } {
  const errors: FieldError[] = [];
  const mode = options.mode ?? 'AUDIT';
  if (mode !== 'AUDIT' && mode !== 'DEBUG') errors.push({ field: 'mode', message: 'must be AUDIT or DEBUG' });
  const speed = checkSpeed(options.speed ?? 1, errors);
  if (options.resume_after !== undefined && (!Number.isInteger(options.resume_after) || options.resume_after < -1)) {
    errors.push({ field: 'resume_after', message: 'must be a step index' });
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return { mode, emit_traces: false, speed, actor: options.actor, resume_after: options.resume_after };
}

/** DESIGN.md 8: only admin keys (or the service itself, in process) may write a RERUN trace. */
export function mayEmitTraces(actor: ReplayActor): boolean {
  return actor.role === undefined ? actor.type === 'system' : actor.role === 'admin';
}
