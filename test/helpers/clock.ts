// The clock a test server runs on: the real time plus an offset a test moves on, so that a lifetime ends or a
// polling interval passes without the test waiting for it.

export class TestClock {
  private offset = 0;

  /** The server's time, epoch ms (bound, so that it can be handed over as `() => number`). */
  readonly now = (): number => Date.now() + this.offset;

  /** Moves the server's time on by `ms`. */
  advance(ms: number): void {
    this.offset += ms;
  }
}
