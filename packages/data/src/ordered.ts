/** Runs `get` over indices with up to `concurrency` calls in flight, handing results to `use` in index order. */
export async function forEachOrdered<T>(
  indices: ArrayLike<number>,
  concurrency: number,
  get: (index: number) => Promise<T>,
  use: (value: T, index: number, k: number) => void | Promise<void>,
): Promise<void> {
  const n = indices.length;
  const pending = new Map<number, Promise<T>>();
  let issued = 0;
  const issue = () => {
    while (issued < n && pending.size < concurrency) {
      const k = issued++;
      const p = get(indices[k]!);
      p.catch(() => {}); // awaited below, in order
      pending.set(k, p);
    }
  };
  for (let k = 0; k < n; k++) {
    issue();
    const value = await pending.get(k)!;
    pending.delete(k);
    issue();
    await use(value, indices[k]!, k);
  }
}
