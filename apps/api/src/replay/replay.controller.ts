import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ExecutionState, MAX_STREAM_WAIT_MS, type ReplayActor, type ReplayResult, TraceReplay } from '@aos/replay';
import { AUDITORS, CurrentTenant, READERS, Roles, type TenantPrincipal } from '../auth/principal';
import { CurrentActor, type RequestActor } from '../auth/request-actor';
import { UuidParamPipe } from '../http';
import { EventStreams, lastEventId } from './event-streams';
import { ExecutionStateDto, ReplayRequestDto, ReplayResultDto, ReplayStreamQueryDto, StateQueryDto } from './replay.dto';

/** The audited actor of a replay, with the key's role (RERUN with emit_traces needs admin). */
function replayActor(who: TenantPrincipal, actor: RequestActor): ReplayActor {
  return { id: actor.actorId, type: actor.actorType, role: who.role, ip_address: actor.ipAddress, user_agent: actor.userAgent };
}

/** Replay and time travel (spec 9, DESIGN.md 8). */
@ApiTags('replay')
@ApiBearerAuth()
@Controller('api/v1/traces')
export class ReplayController {
  constructor(
    private readonly replay: TraceReplay,
    private readonly streams: EventStreams,
  ) {}

  @Post(':trace_id/replay')
  @HttpCode(200)
  @Roles(...AUDITORS)
  @ApiOperation({
    summary: 'Replay a recorded run (AUDIT, DEBUG, or RERUN)',
    description:
      'Verifies every hash first. AUDIT and DEBUG (and RERUN without emit_traces) write nothing and flag altered steps; ' +
      'RERUN re-executes every step and is refused with 409 (first_bad_step) when the trace fails its check. ' +
      'RERUN with emit_traces writes a new trace and needs the admin role. Every replay is audited as trace_replayed.',
  })
  @ApiOkResponse({ type: ReplayResultDto })
  @ApiBadRequestResponse({ description: 'Invalid body, or emit_traces with AUDIT or DEBUG' })
  @ApiForbiddenResponse({ description: 'RERUN with emit_traces without the admin role' })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'RERUN of a trace that fails its integrity check, or that is still recording' })
  replayTrace(
    @CurrentTenant() who: TenantPrincipal,
    @Param('trace_id', UuidParamPipe) traceId: string,
    @Body() body: ReplayRequestDto,
    @CurrentActor() actor: RequestActor,
  ): Promise<ReplayResult> {
    return this.replay.replay(who.tenantId, traceId, { ...body, actor: replayActor(who, actor) });
  }

  @Get(':trace_id/state')
  @Roles(...READERS)
  @ApiOperation({
    summary: 'The execution state after a step (time travel)',
    description:
      'Cumulative tokens, cost and duration, counts by step type, the conversation, tool calls and policy checks so far ' +
      '(the latest ones), the violation if it happened by then, and the integrity of steps 0..N.',
  })
  @ApiOkResponse({ type: ExecutionStateDto })
  @ApiNotFoundResponse({ description: 'No such trace, or step_index beyond the trace' })
  state(
    @CurrentTenant() who: TenantPrincipal,
    @Param('trace_id', UuidParamPipe) traceId: string,
    @Query() query: StateQueryDto,
  ): Promise<ExecutionState> {
    return this.replay.getStateAtStep(who.tenantId, traceId, query.step_index);
  }

  @Get(':trace_id/replay/stream')
  @Roles(...AUDITORS)
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary: 'Replay as Server-Sent Events, paced like the recording',
    description:
      'Events: `start` (trace, integrity), one `step` per step (id = step_index; hash_ok flags altered steps) sent at the ' +
      `recorded gaps divided by speed (each wait capped at ${MAX_STREAM_WAIT_MS} ms; speed 0: at once), then \`end\` with the ` +
      'final state and integrity. Last-Event-ID resumes after that step. Errors before the stream starts are problem details.',
  })
  @ApiOkResponse({ description: 'text/event-stream' })
  @ApiNotFoundResponse()
  async stream(
    @CurrentTenant() who: TenantPrincipal,
    @Param('trace_id', UuidParamPipe) traceId: string,
    @Query() query: ReplayStreamQueryDto,
    @CurrentActor() actor: RequestActor,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const session = await this.replay.openStream(who.tenantId, traceId, {
      mode: query.mode,
      speed: query.speed,
      actor: replayActor(who, actor),
      resume_after: lastEventId(request.headers['last-event-id']),
    });
    await this.streams.send(reply, (signal) => session.events(signal));
  }
}
