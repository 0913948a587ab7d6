// Concurrency of the PostgreSQL benches: operations in flight per process (also its data connections).
export const CONCURRENCY = 8;

/** Runs `fn` for 0…n-1, `concurrency` at a time. */
export async function parallel(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}
