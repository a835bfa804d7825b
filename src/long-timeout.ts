/** Node fires a setTimeout longer than this (about 24.8 days) after 1 ms. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface LongTimeout {
  clear(): void;
}

/**
 * setTimeout for any delay: policies allow timeouts and RTOs of weeks or a year, beyond what one Node timer
 * holds, so a long delay is waited for in steps.
 */
export function setLongTimeout(callback: () => void, ms: number): LongTimeout {
  let timer: NodeJS.Timeout;
  const arm = (remaining: number) => {
    timer = setTimeout(
      () => (remaining > MAX_DELAY_MS ? arm(remaining - MAX_DELAY_MS) : callback()),
      Math.min(remaining, MAX_DELAY_MS),
    );
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}
