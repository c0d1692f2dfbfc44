import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A minimal mirror of the Incidents domain, so a standalone deployment produces
 * complete evidence bundles (spec 6.3 incident_context). Incidents change state
 * (acknowledged, resolved): this table is not evidence and may be updated.
 */
export class Incidents1769050000000 implements MigrationInterface {
  name = 'Incidents1769050000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE TABLE incidents (
  incident_id  uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (tenant_id),
  title        text,
  severity     text CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  status       text CHECK (status IN ('open', 'acknowledged', 'resolved')),
  opened_at    timestamptz(3),
  updated_at   timestamptz(3) NOT NULL DEFAULT now(),
  created_at   timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX incidents_tenant_idx ON incidents (tenant_id, opened_at);
ALTER TABLE incidents ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON incidents USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The refuse-drop event trigger (1769550000000) lets a migration's own down() drop its tables.
    await q.query(`SELECT set_config('aos.allow_drop', 'on', true)`);
    await q.query(`DROP TABLE incidents`);
  }
}
