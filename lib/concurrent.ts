/** Bounded concurrency for streams of async work. */

/**
 * Runs `worker` over `items` with at most `concurrency` in flight, yielding results in input order
 * as soon as each prefix is complete (memory stays bounded by the window, not the list).
 */
export async function* mapConcurrent<T, R>(items: Iterable<T> | AsyncIterable<T>, concurrency: number, worker: (item: T) => Promise<R>): AsyncGenerator<R> {
  const window: Array<Promise<R>> = [];
  for await (const item of items as AsyncIterable<T>) {
    const running = worker(item);
    running.catch(() => {}); // handled when it reaches the head of the window
    window.push(running);
    if (window.length >= concurrency) yield await window.shift()!;
  }
  while (window.length) yield await window.shift()!;
}
