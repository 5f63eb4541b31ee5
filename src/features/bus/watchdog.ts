/**
 * Passes a stream through, ending it cleanly when it errors or stays silent for `idleMs`.
 *
 * The SSE stream of a BusChannel sends a heartbeat comment every 15 s. If the object is reset,
 * the stream may neither end nor error on the Worker's side; without this the EventSource
 * would wait forever instead of reconnecting with `Last-Event-ID`. Cancelling the result (the
 * client left) cancels the source, which frees the stream in the BusChannel.
 */
export function endWhenSilent(
  source: ReadableStream<Uint8Array>,
  idleMs: number,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = () =>
    new Promise<"silent">((resolve) => {
      timer = setTimeout(() => resolve("silent"), idleMs);
    });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await Promise.race([reader.read(), silent()]);
        if (chunk === "silent" || chunk.done) {
          controller.close();
          reader.cancel().catch(() => undefined);
          return;
        }
        controller.enqueue(chunk.value);
      } catch {
        controller.close();
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      clearTimeout(timer);
      return reader.cancel(reason);
    },
  });
}
