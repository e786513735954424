/**
 * The gateway is a list of components with one shape: started in order, closed in reverse.
 * A component that fails to start closes the ones already started (in reverse) before the
 * error is thrown, so a failed start leaves no listener, timer or open database behind.
 */
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';

export interface Component {
  readonly name: string;
  start(): Promise<void> | void;
  /** Must not throw; called once, only if `start` succeeded. */
  close(): Promise<void> | void;
}

export interface Started {
  /** Closes every started component in reverse order; later calls wait for the first. */
  close(): Promise<void>;
}

export async function startInOrder(components: readonly Component[], log: Logger): Promise<Started> {
  const started: Component[] = [];
  let closing: Promise<void> | undefined;
  const closeAll = () =>
    (closing ??= (async () => {
      for (const c of started.reverse()) {
        try {
          await c.close();
        } catch (err) {
          log.error({ component: c.name, err: errorMessage(err) }, 'component close failed');
        }
      }
    })());
  for (const c of components) {
    try {
      await c.start();
    } catch (err) {
      await closeAll();
      throw err;
    }
    started.push(c);
  }
  return { close: closeAll };
}
