/**
 * Index of the piece holding `position`, given the ascending start offsets of consecutive pieces
 * (the first starting at 0) and a position before the end: binary search, O(log n) per seek.
 */
export function pieceIndexAt(starts: readonly number[], position: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((starts[middle] as number) <= position) low = middle;
    else high = middle - 1;
  }
  return low;
}
