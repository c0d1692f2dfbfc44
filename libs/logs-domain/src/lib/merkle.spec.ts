import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  consistencyProof,
  emptyRoot,
  hashLeaf,
  inclusionProof,
  merkleRoot,
  MerkleProofError,
  MerkleTreeBuilder,
  rangeHash,
  inclusionProofRanges,
  consistencyProofRanges,
  verifyConsistency,
  verifyInclusion,
  type MerkleNode,
} from './merkle';

// Published vectors (transparency-dev/merkle testdata) live in ../shared/testdata beside the repository.
const VECTORS = join(__dirname, '../../../../../shared/testdata/rfc9162-merkle');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsonFiles(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');
const proofOf = (p: string[] | null): Buffer[] => (p ?? []).map(b64);

interface InclusionVector {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyVector {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

/** The RFC 6962 reference tree leaves used to generate the vectors. */
const REFERENCE_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  (hex) => hashLeaf(Buffer.from(hex, 'hex')),
);

describe('RFC 9162 hashing', () => {
  it('hashes the empty tree as SHA-256("")', () => {
    expect(emptyRoot().toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(merkleRoot([]).equals(emptyRoot())).toBe(true);
  });

  it('computes the RFC 6962 reference roots that the vectors use', () => {
    expect(merkleRoot(REFERENCE_LEAVES.slice(0, 1)).toString('base64')).toBe('bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=');
    expect(merkleRoot(REFERENCE_LEAVES.slice(0, 6)).toString('base64')).toBe('duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=');
    expect(merkleRoot(REFERENCE_LEAVES).toString('base64')).toBe('XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=');
  });
});

describe('RFC 9162 vectors (transparency-dev/merkle testdata)', () => {
  const inclusion = jsonFiles(join(VECTORS, 'inclusion'));
  const consistency = jsonFiles(join(VECTORS, 'consistency'));

  it('has the published vectors to check against', () => {
    expect(inclusion.length).toBeGreaterThanOrEqual(90);
    expect(consistency.length).toBeGreaterThanOrEqual(90);
  });

  it.each(inclusion.map((f) => [relative(VECTORS, f), f]))('inclusion %s', (_name, file) => {
    const v = JSON.parse(readFileSync(file, 'utf8')) as InclusionVector;
    const run = () => verifyInclusion(v.leafIdx, v.treeSize, b64(v.leafHash), proofOf(v.proof), b64(v.root));
    if (v.wantErr) expect(run).toThrow(MerkleProofError);
    else expect(run).not.toThrow();
  });

  it.each(consistency.map((f) => [relative(VECTORS, f), f]))('consistency %s', (_name, file) => {
    const v = JSON.parse(readFileSync(file, 'utf8')) as ConsistencyVector;
    const run = () => verifyConsistency(v.size1, v.size2, proofOf(v.proof), b64(v.root1), b64(v.root2));
    if (v.wantErr) expect(run).toThrow(MerkleProofError);
    else expect(run).not.toThrow();
  });

  it('generates exactly the happy-path proofs of the vectors from the reference leaves', () => {
    for (const file of [...inclusion, ...consistency].filter((f) => f.endsWith('happy-path.json'))) {
      const v = JSON.parse(readFileSync(file, 'utf8'));
      const want = (v.proof ?? []) as string[];
      const got =
        'leafIdx' in v
          ? inclusionProof(v.leafIdx, REFERENCE_LEAVES.slice(0, v.treeSize))
          : consistencyProof(v.size1, v.size2, REFERENCE_LEAVES);
      expect(got.map((h) => h.toString('base64'))).toEqual(want);
    }
  });
});

describe('generated proofs (property tests, sizes 1..64)', () => {
  const leaves = Array.from({ length: 64 }, (_, i) => hashLeaf(`leaf ${i}`));
  const roots = [emptyRoot(), ...leaves.map((_, i) => merkleRoot(leaves.slice(0, i + 1)))];

  it('inclusion proofs verify for every size and index, and fail for a wrong leaf, index or root', () => {
    for (let n = 1; n <= 64; n++) {
      const tree = leaves.slice(0, n);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(i, tree);
        expect(() => verifyInclusion(i, n, tree[i], proof, roots[n])).not.toThrow();
        expect(() => verifyInclusion(i, n, hashLeaf('other'), proof, roots[n])).toThrow(MerkleProofError);
        if (n > 1) expect(() => verifyInclusion((i + 1) % n, n, tree[i], proof, roots[n])).toThrow(MerkleProofError);
        expect(() => verifyInclusion(i, n, tree[i], proof, roots[n - 1])).toThrow(MerkleProofError);
      }
    }
  });

  it('consistency proofs verify for every pair 1 <= m <= n <= 64, and fail against another root', () => {
    for (let n = 1; n <= 64; n++) {
      const forked = merkleRoot([...leaves.slice(0, n - 1), hashLeaf('x')]);
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(m, n, leaves);
        expect(() => verifyConsistency(m, n, proof, roots[m], roots[n])).not.toThrow();
        if (m < n) {
          expect(() => verifyConsistency(m, n, proof, roots[m], forked)).toThrow(MerkleProofError);
          expect(() => verifyConsistency(m, n, proof, hashLeaf('fork'), roots[n])).toThrow(MerkleProofError);
        }
      }
    }
  });

  it('the builder root equals merkleRoot at every size, and restores from its frontier', () => {
    const builder = new MerkleTreeBuilder();
    expect(builder.root().equals(emptyRoot())).toBe(true);
    for (let n = 1; n <= 64; n++) {
      builder.append(leaves[n - 1]);
      expect(builder.size).toBe(n);
      expect(builder.root().equals(roots[n])).toBe(true);
      expect(builder.frontier()).toHaveLength(n.toString(2).replace(/0/g, '').length);
      const restored = MerkleTreeBuilder.fromFrontier(n, builder.frontier());
      expect(restored.root().equals(roots[n])).toBe(true);
    }
  });

  it('the nodes the builder emits serve every inclusion and consistency proof through rangeHash', () => {
    const builder = new MerkleTreeBuilder();
    const nodes = new Map<string, Buffer>();
    const getNode = (level: number, index: number): Buffer => {
      const hash = nodes.get(`${level}/${index}`);
      if (!hash) throw new Error(`node ${level}/${index} not stored`);
      return hash;
    };
    for (let n = 1; n <= 64; n++) {
      builder.append(leaves[n - 1]).forEach((node: MerkleNode) => nodes.set(`${node.level}/${node.index}`, node.hash));
      for (let i = 0; i < n; i++) {
        const proof = inclusionProofRanges(i, n).map((r) => rangeHash(r, getNode));
        expect(() => verifyInclusion(i, n, leaves[i], proof, builder.root())).not.toThrow();
      }
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProofRanges(m, n).map((r) => rangeHash(r, getNode));
        expect(proof).toEqual(consistencyProof(m, n, leaves));
      }
    }
    // Each append stores one leaf plus one node per merge: 2n - popcount(n) nodes in all.
    expect(nodes.size).toBe(2 * 64 - 1);
  });

  it('rejects malformed inputs', () => {
    expect(() => inclusionProof(3, leaves.slice(0, 3))).toThrow(MerkleProofError);
    expect(() => consistencyProof(5, 4, leaves)).toThrow(MerkleProofError);
    expect(() => MerkleTreeBuilder.fromFrontier(3, [leaves[0]])).toThrow(MerkleProofError);
    expect(() => new MerkleTreeBuilder().append(Buffer.alloc(31))).toThrow(MerkleProofError);
  });
});
