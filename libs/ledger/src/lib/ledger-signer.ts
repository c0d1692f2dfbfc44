import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type Checkpoint,
  ConfigError,
  type DsseEnvelope,
  type InTotoStatement,
  isValidKeyName,
  noteKeyId,
  signCheckpoint,
  signEvidenceStatement,
  verifierKeyString,
} from '@aos/logs-domain';

export interface LedgerKeyOptions {
  /**
   * The key's name in signed notes, and the prefix of every log's origin
   * (`<keyName>/<tenant id>`, `<keyName>/platform`), e.g. `logs.example.com/aos`.
   */
  keyName: string;
  /** PEM (PKCS#8) Ed25519 private key, e.g. from a secret store. Wins over `keyFile`. */
  privateKeyPem?: string;
  /** File with the PEM key; created (mode 0600) with a fresh key when missing. */
  keyFile?: string;
}

/** What `GET /api/v1/integrity/public-key` publishes. */
export interface PublishedKey {
  algorithm: 'Ed25519';
  key_name: string;
  /** 4-byte signed-note key id, hex. */
  key_id: string;
  /** `<name>+<hex id>+<base64(0x01 || key)>`, the form `aos-verify --key` takes. */
  verifier_key: string;
  /** SubjectPublicKeyInfo PEM, for `openssl pkeyutl -verify`. */
  public_key_pem: string;
}

/**
 * The ledger's Ed25519 signing key: signs checkpoints (C2SP signed-note) and
 * evidence statements (DSSE). One key per deployment; every instance must load
 * the same one (configure it; the generated file suits a single node).
 */
export class LedgerSigner {
  readonly published: PublishedKey;

  private constructor(
    readonly keyName: string,
    private readonly privateKey: KeyObject,
  ) {
    const publicKey = createPublicKey(privateKey);
    this.published = {
      algorithm: 'Ed25519',
      key_name: keyName,
      key_id: noteKeyId(keyName, publicKey).toString('hex'),
      verifier_key: verifierKeyString(keyName, publicKey),
      public_key_pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
  }

  static load(options: LedgerKeyOptions): LedgerSigner {
    if (!isValidKeyName(options.keyName) || options.keyName.endsWith('/')) {
      throw new ConfigError(`AOS_LEDGER_KEY_NAME "${options.keyName}" must be a non-empty name without spaces, "+" or a trailing "/"`);
    }
    let pem = options.privateKeyPem;
    if (!pem && options.keyFile) {
      if (!existsSync(options.keyFile)) generateKeyFile(options.keyFile);
      pem = readFileSync(options.keyFile, 'utf8');
    }
    if (!pem) throw new ConfigError('the ledger needs a signing key: set AOS_LEDGER_SIGNING_KEY or AOS_LEDGER_KEY_FILE');
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (err) {
      throw new ConfigError(`the ledger signing key is not a PEM private key: ${(err as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new ConfigError(`the ledger signing key must be Ed25519, got ${key.asymmetricKeyType}`);
    }
    return new LedgerSigner(options.keyName, key);
  }

  /** The origin line of a log: the key name and the tenant (or `platform`). */
  origin(logName: string): string {
    return `${this.keyName}/${logName}`;
  }

  signCheckpoint(cp: Checkpoint): string {
    return signCheckpoint(cp, this.keyName, this.privateKey);
  }

  signStatement(statement: InTotoStatement): DsseEnvelope {
    return signEvidenceStatement(statement, this.privateKey, this.published.key_id);
  }
}

function generateKeyFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  // 'wx': never overwrite a key another process just wrote.
  try {
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  chmodSync(path, 0o600);
}
