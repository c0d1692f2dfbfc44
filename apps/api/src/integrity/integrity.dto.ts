import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { RECORD_TYPES, type RecordType } from '@aos/ledger';
import { ToInteger } from '../common/validators';

const RECORD_TYPE_NAMES = Object.keys(RECORD_TYPES) as RecordType[];
const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;

export class PublicKeyDto {
  @ApiProperty({ example: 'Ed25519' }) algorithm: string;
  @ApiProperty({ example: 'aos.local/ledger', description: 'Key name in signed notes; each log origin is `<key_name>/<tenant id>`.' }) key_name: string;
  @ApiProperty({ example: '69885e11', description: 'The 4-byte signed-note key id, hex.' }) key_id: string;
  @ApiProperty({ description: 'Verifier key `<name>+<hex id>+<base64(0x01 || key)>`, as `aos-verify --key` takes it.' }) verifier_key: string;
  @ApiProperty({ description: 'SubjectPublicKeyInfo PEM, for `openssl pkeyutl -verify -rawin`.' }) public_key_pem: string;
}

export class CheckpointDto {
  @ApiProperty({ example: 'aos.local/ledger/0190c7d2-…', description: "The log's identity: key name and tenant (or `platform`)." }) origin: string;
  @ApiProperty({ type: 'integer', description: 'Leaves committed to.' }) tree_size: number;
  @ApiProperty({ description: 'RFC 9162 root hash, base64.' }) root_hash: string;
  @ApiProperty({ description: 'Signing key id, hex.' }) key_id: string;
  @ApiProperty({ format: 'date-time' }) signed_at: string;
  @ApiProperty({ description: 'The C2SP tlog-checkpoint signed note (body, blank line, `— <key name> <base64 signature>`).' }) note: string;
}

export class InclusionQueryDto {
  @ApiProperty({ enum: RECORD_TYPE_NAMES, description: 'What the id names.' })
  @IsIn(RECORD_TYPE_NAMES)
  record_type: RecordType;

  @ApiProperty({ format: 'uuid', description: 'trace_id of a sealed trace, or log_id of an audit or system log.' })
  @IsUUID()
  record_id: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'Prove against the signed checkpoint of this size (default: the latest, signed now if needed).' })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(MAX_TREE_SIZE)
  tree_size?: number;
}

export class InclusionProofDto {
  @ApiProperty({ enum: RECORD_TYPE_NAMES }) record_type: string;
  @ApiProperty({ format: 'uuid' }) record_id: string;
  @ApiProperty({ type: 'integer' }) leaf_index: number;
  @ApiProperty({ description: 'Base64 of SHA-256(0x00 || leaf data).' }) leaf_hash: string;
  @ApiProperty({ type: 'integer' }) tree_size: number;
  @ApiProperty({ type: [String], description: 'Base64 proof hashes, bottom up (RFC 9162 2.1.3).' }) hashes: string[];
  @ApiProperty({ type: CheckpointDto }) checkpoint: CheckpointDto;
}

export class ConsistencyQueryDto {
  @ApiProperty({ type: 'integer', minimum: 1, description: 'The earlier tree size (e.g. of a checkpoint you saved).' })
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(MAX_TREE_SIZE)
  from: number;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'The later tree size, at most the current one.' })
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(MAX_TREE_SIZE)
  to: number;
}

export class ConsistencyProofDto {
  @ApiProperty({ type: 'integer' }) from_size: number;
  @ApiProperty({ type: 'integer' }) to_size: number;
  @ApiProperty({ type: [String], description: 'Base64 proof hashes (RFC 9162 2.1.4).' }) hashes: string[];
  @ApiProperty({ type: CheckpointDto, nullable: true, description: 'The signed checkpoint of from_size, if one was signed.' }) from_checkpoint: CheckpointDto | null;
  @ApiProperty({ type: CheckpointDto, nullable: true, description: 'The signed checkpoint of to_size, if one was signed.' }) to_checkpoint: CheckpointDto | null;
}

export class AuditMismatchDto {
  @ApiProperty({ enum: ['modified', 'missing', 'reordered', 'step-modified', 'unledgered', 'ledger-altered'] }) kind: string;
  @ApiProperty({ enum: RECORD_TYPE_NAMES, nullable: true }) record_type: string | null;
  @ApiProperty({ format: 'uuid', nullable: true }) record_id: string | null;
  @ApiProperty({ type: 'integer', nullable: true }) leaf_index: number | null;
  @ApiPropertyOptional({ type: 'integer', description: 'For step-modified: the altered step.' }) step_index?: number;
  @ApiProperty() detail: string;
}

export class IntegrityAuditDto {
  @ApiProperty() origin: string;
  @ApiProperty({ type: 'integer' }) tree_size: number;
  @ApiProperty({ type: 'integer', description: 'Leaves recomputed from their record and matched.' }) verified_leaves: number;
  @ApiProperty({ type: 'integer', description: 'Leaves whose record the retention purge removed: explained gaps, not failures.' }) purged_leaves: number;
  @ApiProperty({ type: 'integer', description: 'Signed checkpoints whose root the rebuilt tree matched against.' }) checkpoints_checked: number;
  @ApiProperty({ description: 'No mismatch of any kind.' }) verified: boolean;
  @ApiProperty({ type: 'integer' }) mismatch_count: number;
  @ApiProperty({ type: [AuditMismatchDto], description: 'The first 1,000 mismatches, in leaf order.' }) mismatches: AuditMismatchDto[];
  @ApiProperty({ format: 'date-time' }) checked_at: string;
}
