import { createHash, createPrivateKey, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import { HASH_SIZE } from './merkle';

/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) bodies, signed as C2SP
 * signed notes (https://c2sp.org/signed-note) with Ed25519. Pure; no I/O.
 *
 * Checkpoint body:
 *   <origin>\n<decimal tree size>\n<base64 root hash>\n[<extension line>\n]*
 * Signed note:
 *   <body>\n— <key name> <base64(key id (4) || Ed25519 signature (64))>\n ...
 * Key id: the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key).
 * Verifier key: <key name>+<hex key id>+<base64(0x01 || public key)>.
 */

/** Signature type byte of Ed25519 in signed notes. */
export const ED25519_SIGNATURE_TYPE = 0x01;
/** Notes with more signature lines than this are rejected (as the Go reference does). */
export const MAX_NOTE_SIGNATURES = 100;

const EM_DASH_PREFIX = '\u2014 ';
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export type NoteErrorCode =
  | 'checkpoint-malformed'
  | 'checkpoint-origin-mismatch'
  | 'note-malformed'
  | 'note-unverified'
  | 'note-signature-invalid'
  | 'verifier-key-malformed';

/** A precise, machine-readable failure of a checkpoint, note or key. */
export class NoteError extends Error {
  override readonly name = 'NoteError';
  constructor(
    readonly code: NoteErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------- Ed25519 keys

/** Ed25519 private key from its 32-byte RFC 8032 seed. */
export function ed25519PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new RangeError(`an Ed25519 seed has 32 bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Ed25519 public key from its 32 raw bytes. */
export function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError(`an Ed25519 public key has 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The 32 raw bytes of an Ed25519 public key (or of the public half of a private key). */
export function ed25519RawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new TypeError(`not an Ed25519 key: ${pub.asymmetricKeyType}`);
  const der = pub.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
}

/** An Ed25519 public KeyObject from a KeyObject (public, or private: its public half) or 32 raw bytes. */
export function toEd25519PublicKey(key: KeyObject | Uint8Array): KeyObject {
  if (!(key instanceof KeyObject)) return ed25519PublicKeyFromRaw(key);
  return key.type === 'private' ? createPublicKey(key) : key;
}

// ---------------------------------------------------------------- checkpoints

export interface Checkpoint {
  /** Unique identifier of the log, e.g. `aos.example.com/ledger/<tenant>`. */
  origin: string;
  size: number;
  rootHash: Buffer;
  /** Optional extension lines, without their newlines. */
  extensions: string[];
}

/** The checkpoint body: origin, size, base64 root and extension lines, each ending in `\n`. */
export function formatCheckpoint(cp: Checkpoint): string {
  if (!cp.origin || /[\n\r]/.test(cp.origin)) throw new NoteError('checkpoint-malformed', 'origin must be one non-empty line');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new NoteError('checkpoint-malformed', `invalid tree size ${cp.size}`);
  if (cp.rootHash.length !== HASH_SIZE) throw new NoteError('checkpoint-malformed', `root hash must have ${HASH_SIZE} bytes`);
  for (const ext of cp.extensions) {
    if (!ext || /[\n\r]/.test(ext)) throw new NoteError('checkpoint-malformed', 'extension lines must be non-empty single lines');
  }
  return [cp.origin, String(cp.size), Buffer.from(cp.rootHash).toString('base64'), ...cp.extensions].map((l) => `${l}\n`).join('');
}

const BASE64_32 = /^[A-Za-z0-9+/]{43}=$/;

/** Strict parse of a checkpoint body; throws `NoteError('checkpoint-malformed')`. */
export function parseCheckpoint(body: string): Checkpoint {
  const bad = (why: string): never => {
    throw new NoteError('checkpoint-malformed', `malformed checkpoint: ${why}`);
  };
  if (!body.endsWith('\n')) bad('it must end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) bad('it needs an origin, a tree size and a root hash line');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (!origin) bad('the origin line is empty');
  // eslint-disable-next-line no-control-regex -- control characters are what is rejected here
  if (/[\r\u0000-\u0008\u000b-\u001f]/.test(body)) bad('it contains a control character');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) bad(`tree size "${sizeText}" is not a decimal number without leading zeros`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) bad(`tree size ${sizeText} is too large`);
  if (!BASE64_32.test(rootText)) bad('the root hash is not the base64 of 32 bytes');
  const rootHash = Buffer.from(rootText, 'base64');
  if (rootHash.toString('base64') !== rootText) bad('the root hash is not canonical base64');
  if (extensions.some((e) => e === '')) bad('it contains an empty line');
  return { origin, size, rootHash, extensions };
}

// ---------------------------------------------------------------- signed notes

/** A key name is non-empty, with no whitespace and no `+` (signed-note spec). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && name.isWellFormed();
}

/** The 4-byte key id: SHA-256(name || 0x0A || 0x01 || public key)[:4]. */
export function noteKeyId(name: string, publicKey: KeyObject | Uint8Array): Buffer {
  const raw = publicKey instanceof KeyObject ? ed25519RawPublicKey(publicKey) : Buffer.from(publicKey);
  const digest = createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Uint8Array.of(0x0a, ED25519_SIGNATURE_TYPE))
    .update(raw)
    .digest();
  return digest.subarray(0, 4);
}

export interface VerifierKey {
  name: string;
  keyId: Buffer;
  publicKey: KeyObject;
  rawPublicKey: Buffer;
}

/** `<name>+<hex key id>+<base64(0x01 || public key)>`. */
export function verifierKeyString(name: string, publicKey: KeyObject | Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError('verifier-key-malformed', `invalid key name "${name}"`);
  const raw = publicKey instanceof KeyObject ? ed25519RawPublicKey(publicKey) : Buffer.from(publicKey);
  const typed = Buffer.concat([Uint8Array.of(ED25519_SIGNATURE_TYPE), raw]);
  return `${name}+${noteKeyId(name, raw).toString('hex')}+${typed.toString('base64')}`;
}

/** Parse and check a verifier key string: the key id must match the name and key. */
export function parseVerifierKey(vkey: string): VerifierKey {
  const bad = (why: string): never => {
    throw new NoteError('verifier-key-malformed', `malformed verifier key: ${why}`);
  };
  // The name and hex id contain no '+'; the base64 key may.
  const m = /^([^+]*)\+([^+]*)\+(.*)$/s.exec(vkey.trim());
  if (!m) return bad('expected <name>+<hex key id>+<base64 key>');
  const [, name, idHex, keyB64] = m;
  if (!isValidKeyName(name)) bad(`invalid key name "${name}"`);
  if (!/^[0-9a-f]{8}$/.test(idHex)) bad('the key id is not 8 lowercase hex digits');
  const typed = Buffer.from(keyB64, 'base64');
  if (typed.toString('base64') !== keyB64) bad('the key is not canonical base64');
  if (typed.length !== 33 || typed[0] !== ED25519_SIGNATURE_TYPE) bad('the key is not 0x01 followed by a 32-byte Ed25519 key');
  const raw = typed.subarray(1);
  const keyId = noteKeyId(name, raw);
  if (keyId.toString('hex') !== idHex) bad('the key id does not match the name and key');
  return { name, keyId, publicKey: ed25519PublicKeyFromRaw(raw), rawPublicKey: Buffer.from(raw) };
}

function checkNoteText(text: string): void {
  if (!text.endsWith('\n')) throw new NoteError('note-malformed', 'note text must end with a newline');
  if (text.includes('\n\n')) throw new NoteError('note-malformed', 'note text must not contain a blank line');
  if (!text.isWellFormed()) throw new NoteError('note-malformed', 'note text is not well-formed UTF-8');
  // eslint-disable-next-line no-control-regex -- control characters are what is rejected here
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) throw new NoteError('note-malformed', 'note text contains a control character');
}

/** Sign `body` as a signed note with an Ed25519 private key; returns the full note text. */
export function signNote(body: string, name: string, privateKey: KeyObject): string {
  checkNoteText(body);
  if (!isValidKeyName(name)) throw new NoteError('verifier-key-malformed', `invalid key name "${name}"`);
  const signature = sign(null, Buffer.from(body, 'utf8'), privateKey);
  const keyId = noteKeyId(name, privateKey);
  return `${body}\n${EM_DASH_PREFIX}${name} ${Buffer.concat([keyId, signature]).toString('base64')}\n`;
}

/** Append one more signature (e.g. a witness cosignature) to a signed note. */
export function addNoteSignature(note: string, name: string, privateKey: KeyObject): string {
  const { body } = splitNote(note);
  const line = signNote(body, name, privateKey).slice(body.length + 1);
  return note + line;
}

export interface NoteSignature {
  name: string;
  keyId: Buffer;
  signature: Buffer;
}

/** Split a note into its text and parsed signature lines (no verification). */
export function splitNote(note: string): { body: string; signatures: NoteSignature[] } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('note-malformed', 'no blank line separates the text from the signatures');
  const body = note.slice(0, split + 1);
  checkNoteText(body);
  const sigText = note.slice(split + 2);
  if (!sigText.endsWith('\n')) throw new NoteError('note-malformed', 'the signature block must end with a newline');
  const lines = sigText.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw new NoteError('note-malformed', `more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    if (!line.startsWith(EM_DASH_PREFIX)) throw new NoteError('note-malformed', `signature line does not start with "— ": ${line.slice(0, 40)}`);
    const rest = line.slice(EM_DASH_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    if (space < 0 || !isValidKeyName(name)) throw new NoteError('note-malformed', 'signature line has no valid key name');
    const raw = Buffer.from(b64, 'base64');
    if (raw.length < 5 || raw.toString('base64') !== b64) throw new NoteError('note-malformed', `signature of ${name} is not canonical base64 of key id and signature`);
    return { name, keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
  });
  return { body, signatures };
}

export interface VerifiedNote {
  body: string;
  /** The signatures verified by the given key (unknown keys are ignored, as the spec says). */
  verified: Array<{ name: string; keyId: string }>;
}

/**
 * Verify a signed note against one trusted verifier key. Signatures by other
 * keys are ignored; a signature that claims the trusted key (same name and key
 * id) but does not verify rejects the note (`note-signature-invalid`); a note
 * with no signature by the trusted key is `note-unverified`.
 */
export function verifyNote(note: string, verifierKey: string | VerifierKey): VerifiedNote {
  const key = typeof verifierKey === 'string' ? parseVerifierKey(verifierKey) : verifierKey;
  const { body, signatures } = splitNote(note);
  const verified: VerifiedNote['verified'] = [];
  const data = Buffer.from(body, 'utf8');
  for (const s of signatures) {
    if (s.name !== key.name || !s.keyId.equals(key.keyId)) continue;
    if (s.signature.length !== 64 || !verify(null, data, key.publicKey, s.signature)) {
      throw new NoteError('note-signature-invalid', `the signature of ${s.name} (key id ${s.keyId.toString('hex')}) does not verify`);
    }
    verified.push({ name: s.name, keyId: s.keyId.toString('hex') });
  }
  if (verified.length === 0) {
    const seen = signatures.map((s) => `${s.name}+${s.keyId.toString('hex')}`).join(', ');
    throw new NoteError('note-unverified', `the note has no signature by ${key.name}+${key.keyId.toString('hex')} (signed by: ${seen})`);
  }
  return { body, verified };
}

/**
 * Verify a signed checkpoint note and parse its body; with `expectedOrigin`,
 * a checkpoint of another log is rejected (`checkpoint-origin-mismatch`).
 */
export function openCheckpoint(note: string, verifierKey: string | VerifierKey, expectedOrigin?: string): Checkpoint {
  const { body } = verifyNote(note, verifierKey);
  const cp = parseCheckpoint(body);
  if (expectedOrigin !== undefined && cp.origin !== expectedOrigin) {
    throw new NoteError('checkpoint-origin-mismatch', `checkpoint origin "${cp.origin}" is not the expected "${expectedOrigin}"`);
  }
  return cp;
}

/** Sign a checkpoint: `signNote(formatCheckpoint(cp), name, key)`. */
export function signCheckpoint(cp: Checkpoint, name: string, privateKey: KeyObject): string {
  return signNote(formatCheckpoint(cp), name, privateKey);
}
