import { startEngine, uniqueBucket } from './helpers/engine';
import { Receiver } from './helpers/receiver';
import { buildEvent } from '../src/events';
(async () => {
  const receiver = await Receiver.start();
  const bucket = uniqueBucket('exp');
  const arn = 'arn:minio:sqs:us-east-1:1:webhook';
  const t0 = Date.now();
  const engine = await startEngine({ notify: { webhook: { '1': { enable: true, endpoint: receiver.url } } }, rules: { [bucket]: [{ id: '1', arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] } });
  console.log('engine up', Date.now() - t0);
  for (const client of [engine.client, engine.plainClient]) {
    for (let i = 0; i < 5; i++) {
      const s = performance.now();
      const [p] = await client.publish(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `k${i}-${client === engine.client}`, size: 1 }));
      const r = await engine.client.temporal.workflow.getHandle(p.workflowId).result();
      const h = await engine.client.temporal.workflow.getHandle(p.workflowId).fetchHistory();
      console.log(client === engine.client ? 'worker' : 'plain', (performance.now() - s).toFixed(1), r.status, JSON.stringify(r.targets), h.events!.length, h.events!.map((e) => e.eventType).join(','));
    }
  }
  await engine.stop(); await receiver.close();
})();
