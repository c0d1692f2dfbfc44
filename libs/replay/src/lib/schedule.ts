/**
 * Playback timing. A step plays at (its timestamp - the first step's
 * timestamp) / speed, never before the step ahead of it (a timestamp that goes
 * back in time plays right after its predecessor). Speed 0 plays everything at once.
 */
export const MAX_SPEED = 1000;

/**
 * The paced stream waits at most this long between two steps, whatever the
 * recorded gap and speed (a run that idled for an hour does not hold the
 * stream for an hour). `offset_ms` still reports the uncapped schedule.
 */
export const MAX_STREAM_WAIT_MS = 10_000;

/** Offsets in whole milliseconds, one per timestamp, in the given (step) order. */
export function playbackOffsets(timestamps: readonly string[], speed: number): number[] {
  if (timestamps.length === 0) return [];
  const first = Date.parse(timestamps[0]);
  let previous = 0;
  return timestamps.map((t) => {
    const offset = speed === 0 ? 0 : Math.round((Date.parse(t) - first) / speed);
    previous = Math.max(previous, offset);
    return previous;
  });
}

/** The stream's wait before each step: none before the first, gaps capped at `cap`. */
export function streamWaits(offsets: readonly number[], cap = MAX_STREAM_WAIT_MS): number[] {
  return offsets.map((o, i) => (i === 0 ? 0 : Math.min(cap, Math.max(0, o - offsets[i - 1]))));
}
