import { generateKeyPairSync, sign, verify } from 'node:crypto';
import {
  addNoteSignature,
  ed25519PrivateKeyFromSeed,
  ed25519PublicKeyFromRaw,
  ed25519RawPublicKey,
  formatCheckpoint,
  NoteError,
  noteKeyId,
  openCheckpoint,
  parseCheckpoint,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifierKeyString,
  verifyNote,
  type Checkpoint,
} from './checkpoint';
import { hashLeaf, merkleRoot } from './merkle';

/** RFC 8032 section 7.1, TEST 1..3 (SECRET KEY, PUBLIC KEY, MESSAGE, SIGNATURE). */
const RFC8032 = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

describe('Ed25519 keys (RFC 8032 section 7.1 vectors)', () => {
  it.each(RFC8032)('$name: derives the public key, reproduces and verifies the signature', (v) => {
    const priv = ed25519PrivateKeyFromSeed(Buffer.from(v.secret, 'hex'));
    const pub = ed25519PublicKeyFromRaw(Buffer.from(v.public, 'hex'));
    expect(ed25519RawPublicKey(priv).toString('hex')).toBe(v.public);
    expect(ed25519RawPublicKey(pub).toString('hex')).toBe(v.public);
    const message = Buffer.from(v.message, 'hex');
    expect(sign(null, message, priv).toString('hex')).toBe(v.signature);
    expect(verify(null, message, pub, Buffer.from(v.signature, 'hex'))).toBe(true);
    const flipped = Buffer.from(v.signature, 'hex');
    flipped[0] ^= 1;
    expect(verify(null, message, pub, flipped)).toBe(false);
  });

  it.each(RFC8032)('$name: signs and verifies a signed note with the vector key', (v) => {
    const priv = ed25519PrivateKeyFromSeed(Buffer.from(v.secret, 'hex'));
    const vkey = verifierKeyString('rfc8032.example/log', Buffer.from(v.public, 'hex'));
    const note = signNote(`message ${v.message}\n`, 'rfc8032.example/log', priv);
    expect(verifyNote(note, vkey).body).toBe(`message ${v.message}\n`);
  });
});

describe('checkpoint body (C2SP tlog-checkpoint)', () => {
  const root = merkleRoot([hashLeaf('a'), hashLeaf('b'), hashLeaf('c')]);
  const cp: Checkpoint = { origin: 'aos.example.com/ledger/tenant-1', size: 3, rootHash: root, extensions: [] };

  it('formats origin, decimal size, base64 root, each line ending in a newline', () => {
    expect(formatCheckpoint(cp)).toBe(`aos.example.com/ledger/tenant-1\n3\n${root.toString('base64')}\n`);
  });

  it('round-trips, with extension lines', () => {
    expect(parseCheckpoint(formatCheckpoint(cp))).toEqual(cp);
    const withExt = { ...cp, extensions: ['timestamp 1769000000000'] };
    expect(parseCheckpoint(formatCheckpoint(withExt))).toEqual(withExt);
  });

  it.each([
    ['no trailing newline', `o\n3\n${root.toString('base64')}`],
    ['missing root', 'o\n3\n'],
    ['empty origin', `\n3\n${root.toString('base64')}\n`],
    ['leading zero in size', `o\n03\n${root.toString('base64')}\n`],
    ['negative size', `o\n-3\n${root.toString('base64')}\n`],
    ['size with sign', `o\n+3\n${root.toString('base64')}\n`],
    ['root of 31 bytes', `o\n3\n${root.subarray(1).toString('base64')}\n`],
    ['root in base64url', `o\n3\n${root.toString('base64url')}\n`],
    ['empty extension line', `o\n3\n${root.toString('base64')}\n\n`],
    ['carriage return', `o\r\n3\n${root.toString('base64')}\n`],
  ])('rejects a malformed body: %s', (_why, body) => {
    expect(() => parseCheckpoint(body)).toThrow(expect.objectContaining({ code: 'checkpoint-malformed' }));
  });
});

describe('signed notes (C2SP signed-note, Ed25519)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const name = 'aos.example.com/ledger';
  const vkey = verifierKeyString(name, publicKey);
  const cp: Checkpoint = { origin: 'aos.example.com/ledger/tenant-1', size: 1, rootHash: hashLeaf('x'), extensions: [] };

  it('formats the verifier key as name+hex key id+base64(0x01 || key) and parses it back', () => {
    const raw = ed25519RawPublicKey(publicKey);
    const id = noteKeyId(name, raw);
    expect(vkey).toBe(`${name}+${id.toString('hex')}+${Buffer.concat([Buffer.of(1), raw]).toString('base64')}`);
    const parsed = parseVerifierKey(vkey);
    expect(parsed.name).toBe(name);
    expect(parsed.rawPublicKey.equals(raw)).toBe(true);
  });

  it('rejects a verifier key whose key id does not match', () => {
    const [n, , k] = vkey.split('+');
    expect(() => parseVerifierKey(`${n}+00000000+${k}`)).toThrow(expect.objectContaining({ code: 'verifier-key-malformed' }));
    expect(() => parseVerifierKey('no-plus-signs')).toThrow(NoteError);
  });

  it('writes the blank line, the em dash and base64(key id || signature)', () => {
    const body = formatCheckpoint(cp);
    const note = signNote(body, name, privateKey);
    const [text, sigLine] = note.split('\n\n');
    expect(`${text}\n`).toBe(body);
    expect(sigLine.startsWith(`\u2014 ${name} `)).toBe(true);
    const raw = Buffer.from(sigLine.trimEnd().split(' ')[2], 'base64');
    expect(raw).toHaveLength(68);
    expect(raw.subarray(0, 4).equals(noteKeyId(name, publicKey))).toBe(true);
    expect(verify(null, Buffer.from(body), publicKey, raw.subarray(4))).toBe(true);
  });

  it('round-trips a signed checkpoint', () => {
    const note = signCheckpoint(cp, name, privateKey);
    const verified = verifyNote(note, vkey);
    expect(verified.verified).toEqual([{ name, keyId: noteKeyId(name, publicKey).toString('hex') }]);
    expect(openCheckpoint(note, vkey, cp.origin)).toEqual(cp);
  });

  it('rejects a note signed by another key', () => {
    const note = signCheckpoint(cp, name, other.privateKey);
    expect(() => verifyNote(note, vkey)).toThrow(expect.objectContaining({ code: 'note-unverified' }));
  });

  it('rejects an altered body', () => {
    const note = signCheckpoint(cp, name, privateKey);
    const altered = note.replace('\n1\n', '\n2\n');
    expect(() => verifyNote(altered, vkey)).toThrow(expect.objectContaining({ code: 'note-signature-invalid' }));
  });

  it('rejects another origin when the expected origin is given', () => {
    const note = signCheckpoint({ ...cp, origin: 'evil.example.com/ledger' }, name, privateKey);
    expect(() => openCheckpoint(note, vkey, cp.origin)).toThrow(expect.objectContaining({ code: 'checkpoint-origin-mismatch' }));
  });

  it('ignores signatures by unknown keys and accepts cosigned notes', () => {
    const note = addNoteSignature(signCheckpoint(cp, 'witness.example', other.privateKey), name, privateKey);
    expect(verifyNote(note, vkey).verified).toHaveLength(1);
  });

  it.each([
    ['no blank line', (n: string) => n.replace('\n\n', '\n')],
    ['hyphen instead of em dash', (n: string) => n.replace('\u2014', '-')],
    ['no trailing newline', (n: string) => n.slice(0, -1)],
    ['truncated signature', (n: string) => n.replace(/ [A-Za-z0-9+/=]+\n$/, ' AAAA\n')],
  ])('rejects a malformed note: %s', (_why, mutate) => {
    const note = signCheckpoint(cp, name, privateKey);
    expect(() => verifyNote(mutate(note), vkey)).toThrow(NoteError);
  });
});
