import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, openCheckpoint } from '@aos/logs-domain';
import { CheckpointPublisher } from './checkpoint-publisher';
import { LedgerSigner } from './ledger-signer';
import { ledgerSettings } from './ledger-settings';

// Created at load: it.each tables are built before beforeAll runs.
const dir = mkdtempSync(join(tmpdir(), 'aos-ledger-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('LedgerSigner', () => {
  it('generates a key file once, readable by its owner only, and loads the same key again', () => {
    const keyFile = join(dir, 'nested', 'key.pem');
    const a = LedgerSigner.load({ keyName: 'logs.example.com/aos', keyFile });
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const b = LedgerSigner.load({ keyName: 'logs.example.com/aos', keyFile });
    expect(b.published).toEqual(a.published);
    expect(a.origin('t-1')).toBe('logs.example.com/aos/t-1');
  });

  it('takes a PEM key from configuration over the file, and its checkpoints verify with the published key', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const signer = LedgerSigner.load({ keyName: 'k', privateKeyPem: pem, keyFile: join(dir, 'unused.pem') });
    const note = signer.signCheckpoint({ origin: 'k/t', size: 3, rootHash: Buffer.alloc(32, 1), extensions: [] });
    expect(openCheckpoint(note, signer.published.verifier_key, 'k/t').size).toBe(3);
    expect(() => readFileSync(join(dir, 'unused.pem'))).toThrow();
  });

  it.each([
    [{ keyName: 'has space', keyFile: join(dir, 'x.pem') }, /AOS_LEDGER_KEY_NAME/],
    [{ keyName: 'a+b', keyFile: join(dir, 'x.pem') }, /AOS_LEDGER_KEY_NAME/],
    [{ keyName: 'trailing/', keyFile: join(dir, 'x.pem') }, /AOS_LEDGER_KEY_NAME/],
    [{ keyName: 'k', privateKeyPem: 'not a key' }, /not a PEM private key/],
    [{ keyName: 'k', privateKeyPem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }, /must be Ed25519/],
    [{ keyName: 'k' }, /needs a signing key/],
  ])('refuses a bad configuration with a message naming it (%#)', (options, message) => {
    expect(() => LedgerSigner.load(options)).toThrow(ConfigError);
    expect(() => LedgerSigner.load(options)).toThrow(message);
  });
});

describe('ledgerSettings', () => {
  it('defaults under AOS_DATA_DIR, and reads every setting', () => {
    expect(ledgerSettings({ AOS_DATA_DIR: '/srv/aos' })).toMatchObject({
      enabled: true,
      keyName: 'aos.local/ledger',
      keyFile: '/srv/aos/ledger/signing-key.pem',
      directory: '/srv/aos/ledger/checkpoints',
      checkpointIntervalMs: 10_000,
    });
    expect(
      ledgerSettings({
        AOS_LEDGER: 'off',
        AOS_LEDGER_KEY_NAME: 'logs.example.com/aos',
        AOS_LEDGER_SIGNING_KEY: '-----BEGIN PRIVATE KEY-----\\nabc\\n-----END PRIVATE KEY-----',
        AOS_LEDGER_CHECKPOINT_DIR: 'off',
        AOS_LEDGER_CHECKPOINT_WEBHOOK: 'https://witness.example.com/aos',
        AOS_LEDGER_CHECKPOINT_INTERVAL_MS: '0',
      }),
    ).toMatchObject({
      enabled: false,
      keyName: 'logs.example.com/aos',
      privateKeyPem: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----',
      directory: undefined,
      webhookUrl: 'https://witness.example.com/aos',
      checkpointIntervalMs: 0,
    });
  });

  it.each([
    [{ AOS_LEDGER: 'maybe' }, /AOS_LEDGER/],
    [{ AOS_LEDGER_CHECKPOINT_INTERVAL_MS: '-1' }, /AOS_LEDGER_CHECKPOINT_INTERVAL_MS/],
    [{ AOS_LEDGER_CHECKPOINT_WEBHOOK: 'ftp://x' }, /AOS_LEDGER_CHECKPOINT_WEBHOOK/],
  ])('refuses %j naming the setting', (env, message) => {
    expect(() => ledgerSettings(env)).toThrow(message);
  });
});

describe('CheckpointPublisher', () => {
  it('writes each checkpoint and the latest to the directory, and POSTs it to the webhook', async () => {
    const received: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ type: req.headers['content-type'], body: JSON.parse(body) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const publisher = new CheckpointPublisher({ directory: join(dir, 'cps'), webhookUrl: `http://127.0.0.1:${port}/cp` });
      const cp = { log_id: 'log-1', origin: 'k/log-1', tree_size: 7, note: 'k/log-1\n7\nAAAA\n\n— k sig\n' };
      await publisher.publish(cp);
      await publisher.publish({ ...cp, tree_size: 9, note: 'nine\n' });
      expect(readFileSync(join(dir, 'cps', 'log-1', '7.note'), 'utf8')).toBe(cp.note);
      expect(await publisher.latest('log-1')).toBe('nine\n');
      expect(await publisher.latest('log-2')).toBeNull();
      expect(received).toEqual([
        { type: 'application/json', body: cp },
        { type: 'application/json', body: { ...cp, tree_size: 9, note: 'nine\n' } },
      ]);
    } finally {
      server.close();
    }
  });

  it('publishes concurrent checkpoints of one log, each write with a temporary file of its own', async () => {
    // Two requests signing the same checkpoint at once both publish it (GET /integrity/checkpoint answered 500).
    const publisher = new CheckpointPublisher({ directory: join(dir, 'concurrent') });
    const notes = [3, 3, 3, 4, 4, 5].map((size) => ({ log_id: 'log-c', origin: 'k/log-c', tree_size: size, note: `size ${size}\n` }));
    await expect(Promise.all(notes.map((cp) => publisher.publish(cp)))).resolves.toHaveLength(notes.length);
    expect(['size 3\n', 'size 4\n', 'size 5\n']).toContain(await publisher.latest('log-c'));
    expect(readFileSync(join(dir, 'concurrent', 'log-c', '5.note'), 'utf8')).toBe('size 5\n');
  });

  it('keeps going when the webhook is down: the checkpoint is signed and stored regardless', async () => {
    const publisher = new CheckpointPublisher({ webhookUrl: 'http://127.0.0.1:9/unreachable', webhookTimeoutMs: 500 });
    await expect(publisher.publish({ log_id: 'l', origin: 'k/l', tree_size: 1, note: 'n\n' })).resolves.toBeUndefined();
  });
});
