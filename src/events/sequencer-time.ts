// Whether a MinIO sequencer can be right. MinIO writes an event's sequencer as its time in nanoseconds, in hex
// (the same instant as its eventTime), and the store targets keep each object's newest sequencer to skip older
// events. So one forged event whose sequencer lies far in the future (`FFFF...`) would make every real event for
// that object look older: skipped, reported delivered, the object's state frozen. A sequencer more than
// MAX_SEQUENCER_LEAD_MS ahead of its own eventTime, or of this machine's clock, is refused. Only MinIO's records
// are judged so: S3's and Ceph's sequencers are opaque hex, not times.

/** How far a sequencer's time may lie ahead of its event's time or of the clock (generous for clock skew). */
export const MAX_SEQUENCER_LEAD_MS = 3_600_000;

/** Why `sequencer` (hex, already checked) cannot be a MinIO sequencer of an event at `eventTime`, or undefined. */
export function sequencerTimeProblem(sequencer: string, eventTime: string, now = Date.now()): string | undefined {
  const sequencerMs = Number(BigInt(`0x${sequencer}`) / 1_000_000n);
  const eventMs = Date.parse(eventTime);
  // Measured from the earlier of the two: an eventTime in the future makes no sequencer plausible beyond the clock.
  const [from, name] = eventMs <= now ? [eventMs, 'its eventTime'] : [now, 'the clock'];
  const lead = sequencerMs - from;
  if (lead <= MAX_SEQUENCER_LEAD_MS) return undefined;
  return (
    `${sequencer} is ${describeLead(lead)} ahead of ${name} ` +
    `(MinIO's sequencer is the event's time in ns; more than ${MAX_SEQUENCER_LEAD_MS / 60_000} minutes ahead cannot be right)`
  );
}

function describeLead(ms: number): string {
  const hours = ms / 3_600_000;
  return hours < 48 ? `${hours.toFixed(1)} h` : `${Math.round(hours / 24).toLocaleString('en-US')} days`;
}
