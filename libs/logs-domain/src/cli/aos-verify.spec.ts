import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consistencyProofJson, makeLedgerFixture, ORIGIN } from '../lib/ledger-test-fixture';
import { main, type CliIo } from './aos-verify';

const fx = makeLedgerFixture();
let dir: string;

function capture(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aos-verify-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('aos-verify main', () => {
  it('prints OK and exits 0 for an untouched bundle, with an inline verifier key', async () => {
    const bundle = file('ok.json', fx.envelope(fx.predicate(0)));
    const io = capture();
    expect(await main([bundle, '--key', fx.verifierKey, '--origin', ORIGIN], io)).toBe(0);
    expect(io.out.join('\n')).toMatch(/^OK: trace .* is leaf 1 of aos.example.com\/ledger\/tenant-1 at tree size 10/);
  });

  it('accepts a PEM key file and a verifier key file, and a saved checkpoint with a consistency proof', async () => {
    const bundle = file('ok2.json', fx.envelope(fx.predicate(1)));
    const pem = file('key.pem', fx.publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const vkey = file('key.vkey', `${fx.verifierKey}\n`);
    // Saved as `jq -r .note` writes it: with one more newline than the note has.
    const saved = file('saved.note', `${fx.checkpoint(4)}\n`);
    const proof = file('proof.json', JSON.stringify(consistencyProofJson(fx.leafHashes, 4, 10)));
    const io = capture();
    expect(await main([bundle, '--key', pem], io)).toBe(0);
    expect(await main([bundle, `--key=${vkey}`, '--checkpoint', saved, '--consistency', proof, '--json'], io)).toBe(0);
    expect(JSON.parse(io.out[1])).toMatchObject({ ok: true, consistent_with_size: 4 });
  });

  it('prints the precise reason and exits 1 for a tampered bundle', async () => {
    const p = fx.predicate(2);
    p.trace.total_tokens += 1;
    p.bundle.run_context.total_tokens += 1;
    const bundle = file('tampered.json', fx.envelope(p));
    const io = capture();
    expect(await main([bundle, '--key', fx.verifierKey], io)).toBe(1);
    expect(io.out[0]).toMatch(/^FAILED inclusion-proof-invalid: /);
  });

  it('exits 1 for a bundle signed by another key', async () => {
    const bundle = file('other.json', fx.envelope(fx.predicate(0), generateKeyPairSync('ed25519').privateKey));
    const io = capture();
    expect(await main([bundle, '--key', fx.verifierKey, '--json'], io)).toBe(1);
    expect(JSON.parse(io.out[0])).toMatchObject({ ok: false, reason: { code: 'signature-invalid' } });
  });

  it('exits 2 with the usage for bad arguments or a missing file', async () => {
    const io = capture();
    expect(await main([], io)).toBe(2);
    expect(await main(['x.json'], io)).toBe(2);
    expect(await main(['x.json', '--key', fx.verifierKey, '--bogus'], io)).toBe(2);
    expect(io.err.filter((l) => l.startsWith('usage:'))).toHaveLength(3);
    expect(await main([join(dir, 'missing.json'), '--key', fx.verifierKey], io)).toBe(2);
  });
});
