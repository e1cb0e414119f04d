/** An object as listed: what a reader is given to read. */
export interface ListedObject {
  key: string;
  etag: string;
  size: number;
}

/**
 * Splits objects (in key order) into contiguous groups for readers side by side: as many readers as
 * `readers` allows while each gets at least `perReader` objects, groups of about equal bytes, so one big
 * file does not leave the others idle. Order is kept: group i's objects all come before group i+1's.
 */
export function shareObjects(objects: readonly ListedObject[], readers: number, perReader: number): ListedObject[][] {
  if (objects.length === 0) return [[]];
  const count = Math.max(1, Math.min(readers, Math.floor(objects.length / perReader)));
  const total = objects.reduce((sum, object) => sum + Math.max(1, object.size), 0);
  const shares: ListedObject[][] = [];
  let current: ListedObject[] = [];
  let bytes = 0;
  let done = 0;
  for (const [index, object] of objects.entries()) {
    current.push(object);
    bytes += Math.max(1, object.size);
    const left = objects.length - index - 1;
    const groupsLeft = count - shares.length - 1;
    // Close the group at its share of the bytes, keeping an object for every group still to come.
    if (groupsLeft > 0 && left >= groupsLeft && done + bytes >= (total * (shares.length + 1)) / count) {
      shares.push(current);
      done += bytes;
      current = [];
      bytes = 0;
    }
  }
  shares.push(current);
  return shares;
}
