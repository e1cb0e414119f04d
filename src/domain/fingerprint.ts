/**
 * A 53-bit fingerprint of a string (two 32-bit multiplicative hashes, FNV-1a and a Murmur-style mix,
 * folded into a safe integer). Used as an integer key where keying by the string itself would be slow;
 * callers keep the string beside it and compare, so a collision is caught, never trusted.
 */
export function fingerprint(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}
