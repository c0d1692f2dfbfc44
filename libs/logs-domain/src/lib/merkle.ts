import { createHash } from 'node:crypto';

/**
 * RFC 9162 (Certificate Transparency 2.0, section 2.1) Merkle tree hashing and
 * proofs over SHA-256, on raw bytes. Pure and synchronous; no I/O.
 *
 * - leaf hash  `SHA-256(0x00 || data)`
 * - node hash  `SHA-256(0x01 || left || right)`
 * - empty tree `SHA-256("")`
 *
 * A tree of n leaves splits at k, the largest power of two smaller than n:
 * `MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))`.
 */

export const HASH_SIZE = 32;

export class MerkleProofError extends Error {
  override readonly name = 'MerkleProofError';
}

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** `SHA-256(0x00 || data)`. */
export function hashLeaf(data: Uint8Array | string): Buffer {
  return sha256(LEAF_PREFIX, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
}

/** `SHA-256(0x01 || left || right)`. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(NODE_PREFIX, left, right);
}

/** The root of the empty tree, `SHA-256("")`. */
export function emptyRoot(): Buffer {
  return sha256();
}

/** The largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function checkSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new MerkleProofError(`${name} must be a non-negative integer, got ${n}`);
}

/** A half-open range of leaf indices `[start, end)` whose subtree hash is one proof component. */
export interface LeafRange {
  start: number;
  end: number;
}

/** Hash of the subtree over `leafHashes[start:end]` (recursive MTH; O(end - start)). */
function subtreeRoot(leafHashes: ReadonlyArray<Uint8Array>, start: number, end: number): Buffer {
  const n = end - start;
  if (n === 0) return emptyRoot();
  if (n === 1) return Buffer.from(leafHashes[start]);
  const k = splitPoint(n);
  return hashChildren(subtreeRoot(leafHashes, start, start + k), subtreeRoot(leafHashes, start + k, end));
}

/** MTH over the given leaf hashes (already `hashLeaf`ed). */
export function merkleRoot(leafHashes: ReadonlyArray<Uint8Array>): Buffer {
  return subtreeRoot(leafHashes, 0, leafHashes.length);
}

/**
 * The leaf ranges whose subtree hashes form the inclusion proof of leaf `index`
 * in a tree of `size` leaves (RFC 9162 2.1.3.1 PATH), in proof order (bottom up).
 * A server that stores tree nodes turns each range into a hash with `rangeHash`.
 */
export function inclusionProofRanges(index: number, size: number): LeafRange[] {
  checkSize('index', index);
  checkSize('size', size);
  if (index >= size) throw new MerkleProofError(`index ${index} is not below tree size ${size}`);
  const out: LeafRange[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, start + k);
      out.push({ start: start + k, end });
    } else {
      walk(m - k, start + k, end);
      out.push({ start, end: start + k });
    }
  };
  walk(index, 0, size);
  return out;
}

/**
 * The leaf ranges whose subtree hashes form the consistency proof between tree
 * sizes `m` and `n` (RFC 9162 2.1.4.1 PROOF / SUBPROOF), in proof order.
 */
export function consistencyProofRanges(m: number, n: number): LeafRange[] {
  checkSize('size1', m);
  checkSize('size2', n);
  if (m > n) throw new MerkleProofError(`size1 ${m} is greater than size2 ${n}`);
  if (m === 0 || m === n) return [];
  const out: LeafRange[] = [];
  const sub = (mm: number, start: number, end: number, complete: boolean): void => {
    const nn = end - start;
    if (mm === nn) {
      if (!complete) out.push({ start, end });
      return;
    }
    const k = splitPoint(nn);
    if (mm <= k) {
      sub(mm, start, start + k, complete);
      out.push({ start: start + k, end });
    } else {
      sub(mm - k, start + k, end, false);
      out.push({ start, end: start + k });
    }
  };
  sub(m, 0, n, true);
  return out;
}

/**
 * The hash of the subtree over leaves `[start, end)`, from stored nodes:
 * `getNode(level, index)` returns the hash of the perfect subtree of 2^level
 * leaves starting at leaf `index * 2^level` (level 0 = leaf hashes), as emitted
 * by `MerkleTreeBuilder.append`. Ranges from the proof functions are always
 * decomposable into such aligned perfect subtrees.
 */
export function rangeHash(range: LeafRange, getNode: (level: number, index: number) => Uint8Array): Buffer {
  const n = range.end - range.start;
  if (n <= 0) throw new MerkleProofError(`empty range [${range.start}, ${range.end})`);
  if (isPowerOfTwo(n) && range.start % n === 0) {
    const level = Math.log2(n);
    return Buffer.from(getNode(level, range.start / n));
  }
  const k = splitPoint(n);
  return hashChildren(
    rangeHash({ start: range.start, end: range.start + k }, getNode),
    rangeHash({ start: range.start + k, end: range.end }, getNode),
  );
}

/** RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of all `leafHashes`. */
export function inclusionProof(index: number, leafHashes: ReadonlyArray<Uint8Array>): Buffer[] {
  return inclusionProofRanges(index, leafHashes.length).map((r) => subtreeRoot(leafHashes, r.start, r.end));
}

/** RFC 9162 2.1.4.1: the consistency proof from the first `size1` leaves to the first `size2`. */
export function consistencyProof(size1: number, size2: number, leafHashes: ReadonlyArray<Uint8Array>): Buffer[] {
  if (size2 > leafHashes.length) throw new MerkleProofError(`size2 ${size2} exceeds the ${leafHashes.length} leaves given`);
  return consistencyProofRanges(size1, size2).map((r) => subtreeRoot(leafHashes, r.start, r.end));
}

/**
 * The root that an inclusion proof implies (RFC 9162 2.1.3.2 steps 1-3);
 * throws `MerkleProofError` for a malformed proof.
 */
export function rootFromInclusionProof(index: number, size: number, leafHash: Uint8Array, proof: ReadonlyArray<Uint8Array>): Buffer {
  checkSize('index', index);
  checkSize('size', size);
  if (index >= size) throw new MerkleProofError(`index ${index} is not below tree size ${size}`);
  if (leafHash.length !== HASH_SIZE) throw new MerkleProofError(`leaf hash has ${leafHash.length} bytes, want ${HASH_SIZE}`);
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (p.length !== HASH_SIZE) throw new MerkleProofError(`proof component has ${p.length} bytes, want ${HASH_SIZE}`);
    if (sn === 0) throw new MerkleProofError('proof is longer than the path to the root');
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new MerkleProofError('proof is shorter than the path to the root');
  return r;
}

/** RFC 9162 2.1.3.2: throws `MerkleProofError` unless `proof` proves `leafHash` at `index` under `root`. */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: ReadonlyArray<Uint8Array>,
  root: Uint8Array,
): void {
  const computed = rootFromInclusionProof(index, size, leafHash, proof);
  if (!bytesEqual(computed, root)) throw new MerkleProofError('inclusion proof leads to a different root');
}

/**
 * RFC 9162 2.1.4.2: throws `MerkleProofError` unless `proof` shows that the tree
 * of `size1` leaves with `root1` is a prefix of the tree of `size2` with `root2`.
 * A consistency check from the empty tree proves nothing and is rejected (as in
 * the transparency-dev vectors); equal sizes need an empty proof and equal roots.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: ReadonlyArray<Uint8Array>,
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkSize('size1', size1);
  checkSize('size2', size2);
  if (size1 === 0) throw new MerkleProofError('consistency with the empty tree proves nothing');
  if (size2 < size1) throw new MerkleProofError(`size2 ${size2} is smaller than size1 ${size1}`);
  if (size1 === size2) {
    if (proof.length > 0) throw new MerkleProofError('sizes are equal but the proof is not empty');
    if (!bytesEqual(root1, root2)) throw new MerkleProofError('sizes are equal but the roots differ');
    return;
  }
  if (proof.length === 0) throw new MerkleProofError('empty consistency proof');
  for (const c of proof) {
    if (c.length !== HASH_SIZE) throw new MerkleProofError(`proof component has ${c.length} bytes, want ${HASH_SIZE}`);
  }
  // Step 1: when size1 is a power of two, its root is the first component.
  const path = isPowerOfTwo(size1) ? [Buffer.from(root1), ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]);
  let sr: Buffer = Buffer.from(path[0]);
  for (const c of path.slice(1)) {
    if (sn === 0) throw new MerkleProofError('consistency proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new MerkleProofError('consistency proof is too short');
  if (!bytesEqual(fr, root1)) throw new MerkleProofError('consistency proof does not lead to the first root');
  if (!bytesEqual(sr, root2)) throw new MerkleProofError('consistency proof does not lead to the second root');
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1) {
    if (n % 2 !== 0) return false;
    n /= 2;
  }
  return n === 1;
}

/** A perfect subtree completed by an append: 2^level leaves starting at leaf `index * 2^level`. */
export interface MerkleNode {
  level: number;
  index: number;
  hash: Buffer;
}

/**
 * Incremental RFC 9162 tree: keeps only the right-edge frontier, the roots of
 * the perfect subtrees that the binary form of the size decomposes into (largest
 * first; e.g. size 13 = 8 + 4 + 1 keeps three hashes). Appending a leaf pushes
 * its hash and merges equal-sized neighbours, so an append costs O(log n) hashes
 * amortised (at most log2(n) merges) and the state is O(log n) hashes. The root
 * at the current size folds the frontier right to left (O(log n)), which equals
 * MTH because MTH splits at the largest power of two, i.e. the leftmost frontier
 * subtree.
 *
 * `append` returns every perfect subtree it completed (the leaf itself at level
 * 0, then each merge), which is exactly what a server stores once (never
 * recomputed) to serve proofs with `rangeHash`. The frontier can be saved and the
 * builder restored with `MerkleTreeBuilder.fromFrontier`.
 */
export class MerkleTreeBuilder {
  private readonly stack: MerkleNode[] = [];
  private count = 0;

  /** Restore from a saved `size` and its `frontier()` (largest subtree first). */
  static fromFrontier(size: number, frontier: ReadonlyArray<Uint8Array>): MerkleTreeBuilder {
    checkSize('size', size);
    const b = new MerkleTreeBuilder();
    const levels: number[] = [];
    for (let level = 0, rest = size; rest > 0; level++, rest = Math.floor(rest / 2)) {
      if (rest % 2 === 1) levels.unshift(level);
    }
    if (levels.length !== frontier.length) {
      throw new MerkleProofError(`size ${size} needs ${levels.length} frontier hashes, got ${frontier.length}`);
    }
    let start = 0;
    levels.forEach((level, i) => {
      const width = 2 ** level;
      b.stack.push({ level, index: start / width, hash: Buffer.from(frontier[i]) });
      start += width;
    });
    b.count = size;
    return b;
  }

  get size(): number {
    return this.count;
  }

  /** Append one leaf hash (already `hashLeaf`ed); returns the perfect subtrees it completed. */
  append(leafHash: Uint8Array): MerkleNode[] {
    if (leafHash.length !== HASH_SIZE) throw new MerkleProofError(`leaf hash has ${leafHash.length} bytes, want ${HASH_SIZE}`);
    let node: MerkleNode = { level: 0, index: this.count, hash: Buffer.from(leafHash) };
    const completed: MerkleNode[] = [node];
    while (this.stack.length > 0 && this.stack[this.stack.length - 1].level === node.level) {
      const left = this.stack.pop() as MerkleNode;
      node = { level: node.level + 1, index: left.index / 2, hash: hashChildren(left.hash, node.hash) };
      completed.push(node);
    }
    this.stack.push(node);
    this.count += 1;
    return completed;
  }

  /** Append the leaf hash of `data`. */
  appendData(data: Uint8Array | string): MerkleNode[] {
    return this.append(hashLeaf(data));
  }

  /** The roots of the frontier subtrees, largest (leftmost) first. */
  frontier(): Buffer[] {
    return this.stack.map((n) => Buffer.from(n.hash));
  }

  /** MTH of the leaves appended so far. */
  root(): Buffer {
    if (this.stack.length === 0) return emptyRoot();
    let r = this.stack[this.stack.length - 1].hash;
    for (let i = this.stack.length - 2; i >= 0; i--) r = hashChildren(this.stack[i].hash, r);
    return Buffer.from(r);
  }
}
