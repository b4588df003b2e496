// A MinIO sequencer is the event's time in ns (hex): one far ahead of its eventTime, or of the clock, is forged
// (it would make every later real event of its object look older to the store targets) and is refused naming
// the field where MinIO's records arrive from a storage server (parseEventBody: the ingest and the Kafka source).
// The MinIO guide's own records pass, and so do other servers' opaque sequencers, also once normalized to MinIO's
// record (which the library's publish and the re-validation of normalized records parse without judging them).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildEvent,
  EventValidationError,
  ImplausibleSequencerError,
  parseEventBody,
  parseIncomingEvents,
  sequencerAt,
} from '../../src/events';
import { MAX_SEQUENCER_LEAD_MS, sequencerTimeProblem } from '../../src/events/sequencer-time';
import guideMessages from '../fixtures/minio-guide/sample-messages.json';
import { sourceFixture } from '../helpers/fixtures';

const at = new Date('2024-05-01T10:00:00.000Z');
const record = (sequencer: string, eventTime = at) =>
  buildEvent({ eventName: 's3:ObjectRemoved:Delete', bucket: 'photos', key: 'cat.jpg', sequencer, eventTime });
const judged = (body: unknown) => parseIncomingEvents(body, { judgeSequencers: true });
const refusal = (field: string, pattern: RegExp) => (err: unknown) =>
  err instanceof ImplausibleSequencerError &&
  err instanceof EventValidationError &&
  err.field === field &&
  pattern.test(err.message);

test('the sequencer MinIO writes (its eventTime in ns) and anything up to an hour ahead are accepted', () => {
  for (const sequencer of [
    sequencerAt(at.getTime()),
    sequencerAt(at.getTime() + MAX_SEQUENCER_LEAD_MS),
    sequencerAt(at.getTime() - 86_400_000),
    '1',
    '00',
  ]) {
    assert.doesNotThrow(() => judged({ Records: [record(sequencer)] }), sequencer);
  }
  // The guide's records (their sequencers are their eventTimes, from 2016 and 2017).
  const withRecords = Object.values(guideMessages)
    .map((text) => JSON.parse(text))
    .filter((body) => 'Records' in body);
  assert.equal(withRecords.length, 5);
  for (const body of withRecords) assert.doesNotThrow(() => judged(body));
});

test("a sequencer more than an hour ahead of its eventTime is refused, naming the record's field; the whole body with it", () => {
  assert.throws(
    () => judged({ Records: [record(sequencerAt(at.getTime())), record('F'.repeat(32))] }),
    refusal(
      'Records[1].s3.object.sequencer',
      /^Records\[1\]\.s3\.object\.sequencer: F{32} is [\d,]+ days ahead of its eventTime \(MinIO's sequencer is the event's time in ns; more than 60 minutes ahead cannot be right\)$/,
    ),
  );
  assert.throws(
    () => judged([record('1'), { Records: [record(sequencerAt(at.getTime() + 2 * 3_600_000))] }]),
    refusal('[1].Records[0].s3.object.sequencer', /is 2\.0 h ahead of its eventTime/),
  );
  // Through the ingest's and the Kafka source's parser as well.
  assert.throws(
    () =>
      parseEventBody({
        EventName: 's3:ObjectRemoved:Delete',
        Key: 'photos/cat.jpg',
        Records: [record('FFFFFFFFFFFFFFFF')],
      }),
    refusal('Records[0].s3.object.sequencer', /ahead of its eventTime/),
  );
});

test('an eventTime in the future does not make a future sequencer plausible: it is measured against the clock', () => {
  const future = new Date(Date.now() + 30 * 86_400_000);
  assert.throws(
    () => judged({ Records: [record(sequencerAt(future.getTime()), future)] }),
    refusal('Records[0].s3.object.sequencer', /is 30 days ahead of the clock/),
  );
  const now = Date.now();
  assert.equal(sequencerTimeProblem(sequencerAt(now + 1_000), new Date(now).toISOString(), now), undefined);
});

test("other servers' sequencers are opaque, not times: Ceph's and S3's are not judged, nor are records parsed without judging (the library, normalized records)", () => {
  assert.doesNotThrow(() => parseIncomingEvents({ Records: [record('F'.repeat(32))] }));
  const aws = parseEventBody(sourceFixture('aws-s3-object-created.json')).events[0].record;
  assert.deepEqual(parseIncomingEvents({ Records: [aws] }), [aws], 'a normalized S3 record is a valid MinIO record');
  const ceph = sourceFixture('ceph-notifications.json') as {
    Records: Array<{ s3: { object: { sequencer: string } } }>;
  };
  ceph.Records[0].s3.object.sequencer = 'F'.repeat(32);
  assert.equal(parseEventBody(ceph).events[0].record.s3.object.sequencer, 'F'.repeat(32));
  assert.equal(parseEventBody(sourceFixture('aws-s3-object-created.json')).source, 'aws-s3');
});
