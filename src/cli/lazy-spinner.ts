/**
 * A terminal spinner that costs nothing when the answer is quick. ora (and its dependencies) took 250 to
 * 400 ms to import on the benchmark machine, more than the whole `dotstub query` budget (200 ms), so it
 * is imported only once the wait has lasted long enough for a person to want a sign of life.
 */
export interface Spinner {
  stop(): void;
}

/** Waits this long before loading and showing the spinner. */
const SPINNER_DELAY_MS = 250;

export function lazySpinner(text: string, stream: NodeJS.WriteStream): Spinner {
  let stopped = false;
  let shown: Spinner | undefined;
  const timer = setTimeout(() => {
    void import('ora').then(
      ({ default: ora }) => {
        if (!stopped) shown = ora({ text, stream, discardStdin: false }).start();
      },
      // No spinner is no loss: the answer still comes.
      () => undefined,
    );
  }, SPINNER_DELAY_MS);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      shown?.stop();
    },
  };
}
