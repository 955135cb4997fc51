// The clock a test server runs on: the real time plus an offset a test moves on, so that a lifetime ends or a
// polling interval passes without the test waiting for it.

export class TestClock {
  private offset = 0;
  private held: number | undefined;

  /** The server's time, epoch ms (bound, so that it can be handed over as `() => number`). */
  readonly now = (): number => this.held ?? Date.now() + this.offset;

  /**
   * Stops the server's time until the returned function is called, when it goes on from where it stood. A test that
   * must land many requests in one one-second window holds the time instead of hoping a loaded machine is quick.
   * With `freshWindowMs`, the time is first moved on to the start of the next such window, which earlier requests
   * have not counted in.
   */
  hold(freshWindowMs?: number): () => void {
    if (freshWindowMs !== undefined) this.advance(freshWindowMs - (this.now() % freshWindowMs));
    this.held = this.now();
    return () => {
      if (this.held === undefined) return;
      this.offset = this.held - Date.now();
      this.held = undefined;
    };
  }

  /** Moves the server's time on by `ms`. */
  advance(ms: number): void {
    if (this.held !== undefined) this.held += ms;
    this.offset += ms;
  }

  /**
   * Makes sure the next `marginMs` of the server's time fall in one window of `windowMs`, moving the time on to the
   * next window's start when the current one ends sooner. Rate limits count in fixed windows aligned to the epoch: a
   * test whose attempts must all land in one window calls this first, instead of failing when real time crosses a
   * window's end halfway through. The move is at most `marginMs`, so signatures made on the real clock still pass the
   * server's 15-minute check.
   */
  clearOfWindowEnd(windowMs: number, marginMs = 60_000): void {
    const left = windowMs - (this.now() % windowMs);
    if (left < marginMs) this.advance(left);
  }
}
