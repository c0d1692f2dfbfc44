import { Inject, Injectable } from '@nestjs/common';
import type { ActorType } from '@aos/logs-domain';
import { AuditLogStore } from '@aos/traces-store';

/** An actor as an audit record names it. */
export interface ActorRef {
  actor_id: string;
  actor_type: ActorType;
}

/**
 * Resolves actor ids to display names (spec 11.3 `actor_name`). Used as an
 * interface and as the DI token: a service with a user directory provides its
 * own through `AuditModule.forRoot({ actorDirectory })`. An actor missing from
 * the answer is shown by its id.
 */
export abstract class ActorDirectory {
  abstract resolveNames(tenantId: string, actors: readonly ActorRef[]): Promise<Map<string, string>>;
}

/** The default directory: `api_key` actors by the key's name (revoked keys too); everyone else by id. */
@Injectable()
export class ApiKeyActorDirectory extends ActorDirectory {
  constructor(@Inject(AuditLogStore) private readonly store: AuditLogStore) {
    super();
  }

  resolveNames(tenantId: string, actors: readonly ActorRef[]): Promise<Map<string, string>> {
    return this.store.apiKeyNames(
      tenantId,
      actors.filter((a) => a.actor_type === 'api_key').map((a) => a.actor_id),
    );
  }
}
