// What a test's subscriber on a message broker (MQTT, NATS) received, shared by the message-target tests:
// messages collected as they arrive, taken once as many as expected arrived (or after 10 s, so a missing
// one fails the count, not the test's timeout); and the usual check, events sent through a target then
// read back, each message the event's envelope carrying its event id.
import assert from 'node:assert/strict';
import type { Delivery, Target } from '../../src/targets/target';

export class Inbox<M> {
  private readonly received: M[] = [];

  /** `stop` ends the subscription once the messages are taken. */
  constructor(private readonly stop: () => unknown) {}

  /** The subscription's callback: collects one message. */
  readonly add = (message: M): void => {
    this.received.push(message);
  };

  /** Waits until `count` messages arrived (10 s at most), stops the subscription, returns what arrived. */
  async take(count: number): Promise<M[]> {
    const deadline = Date.now() + 10_000;
    while (this.received.length < count && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await this.stop();
    return this.received;
  }
}

/** A message as the checks read it: its body and the event id the target put beside it. */
export interface Arrived {
  body: string;
  eventId: string | undefined;
}

/** Sends `events` through `target` one after another, then takes as many messages from `inbox`. */
export async function sendAndTake<M>(target: Target, inbox: Inbox<M>, events: Delivery[]): Promise<M[]> {
  for (const event of events) await target.send(event);
  return inbox.take(events.length);
}

/** Exactly the events sent arrived, in order: each message the event's envelope, with the event's id. */
export function assertEnvelopes<M>(messages: M[], sent: Delivery[], read: (message: M) => Arrived): void {
  assert.equal(messages.length, sent.length);
  for (const [i, event] of sent.entries()) {
    const { body, eventId } = read(messages[i]);
    assert.deepEqual(JSON.parse(body), event.envelope);
    assert.equal(eventId, event.eventId);
  }
}
