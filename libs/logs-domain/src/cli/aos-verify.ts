import { existsSync, readFileSync } from 'node:fs';
import type { ConsistencyProofJson } from '../lib/dsse';
import { verifySignedBundle, type VerifyOptions } from '../lib/verify-bundle';

/**
 * `aos-verify`: the offline verifier of signed evidence bundles. No server, no
 * database: it reads a DSSE envelope (bundle.json) and checks it with
 * `verifySignedBundle`.
 *
 *   aos-verify <bundle.json> --key <verifier key | key file (verifier key or SPKI PEM)>
 *              [--checkpoint <saved checkpoint note file>] [--origin <origin>]
 *              [--consistency <consistency proof JSON file>] [--json]
 *
 * Exit codes: 0 verified; 1 rejected (the reason is printed); 2 usage or I/O error.
 */

export interface CliIo {
  stdout(line: string): void;
  stderr(line: string): void;
}

const defaultIo: CliIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

export const USAGE =
  'usage: aos-verify <bundle.json> --key <verifier key | key file> [--checkpoint <saved checkpoint file>] [--origin <origin>] [--consistency <proof.json>] [--json]';

interface Args {
  bundle?: string;
  key?: string;
  checkpoint?: string;
  origin?: string;
  consistency?: string;
  json: boolean;
}

function parseArgs(argv: ReadonlyArray<string>): Args {
  const args: Args = { json: false };
  const takesValue = new Set(['--key', '--checkpoint', '--origin', '--consistency']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (flag === '--json') args.json = true;
    else if (flag === '--help' || flag === '-h') throw new UsageError('');
    else if (takesValue.has(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
      args[flag.slice(2) as 'key' | 'checkpoint' | 'origin' | 'consistency'] = value;
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else if (args.bundle === undefined) args.bundle = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  if (!args.bundle) throw new UsageError('the bundle file is missing');
  if (!args.key) throw new UsageError('--key is required');
  return args;
}

class UsageError extends Error {}

/** A --key value: an inline verifier key, or a file holding a verifier key or an SPKI PEM public key. */
function keyOption(value: string): Pick<VerifyOptions, 'publicKey' | 'verifierKey'> {
  const text = existsSync(value) ? readFileSync(value, 'utf8').trim() : value.trim();
  if (text.startsWith('-----BEGIN')) return { publicKey: text };
  return { verifierKey: text };
}

/** Runs the verifier; resolves to the exit code. */
export async function main(argv: ReadonlyArray<string>, io: CliIo = defaultIo): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message) io.stderr(`aos-verify: ${e.message}`);
      io.stderr(USAGE);
      return 2;
    }
    throw e;
  }
  let envelope: string;
  const options: VerifyOptions = {};
  try {
    envelope = readFileSync(args.bundle as string, 'utf8');
    Object.assign(options, keyOption(args.key as string));
    // A note ends with one newline; tools such as `jq -r` add another when saving it.
    if (args.checkpoint) options.trustedCheckpoint = readFileSync(args.checkpoint, 'utf8').replace(/\n+$/, '\n');
    if (args.origin) options.expectedOrigin = args.origin;
    if (args.consistency) options.consistencyProof = JSON.parse(readFileSync(args.consistency, 'utf8')) as ConsistencyProofJson;
  } catch (e) {
    io.stderr(`aos-verify: ${(e as Error).message}`);
    return 2;
  }

  const result = verifySignedBundle(envelope, options);
  if (result.ok) {
    if (args.json) {
      const { statement: _statement, ...summary } = result;
      io.stdout(JSON.stringify(summary));
    } else {
      const cp = result.checkpoint;
      io.stdout(
        `OK: trace ${result.trace_id} (content hash ${result.content_hash}) is leaf ${result.leaf_index} of ${cp.origin} at tree size ${cp.size}, root ${cp.root_hash}` +
          (result.consistent_with_size !== undefined ? `; consistent with the saved checkpoint of size ${result.consistent_with_size}` : '') +
          (result.step_content_checked ? '; every step hash recomputed from content' : ''),
      );
    }
    return 0;
  }
  if (args.json) io.stdout(JSON.stringify({ ok: false, reason: result.reason }));
  else io.stdout(`FAILED ${result.reason.code}: ${result.reason.message}`);
  return 1;
}

/* istanbul ignore next -- entry point when run as a program */
if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`aos-verify: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(2);
    },
  );
}
