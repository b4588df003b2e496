// Event names of S3-style servers (AWS S3, Ceph RGW) mapped to MinIO's, so bucket rules written with MinIO's
// `s3:` names match events from any source. AWS and Ceph write the names without the `s3:` prefix.
import { EVENT_NAMES } from '../names';
import { EventValidationError, quoted } from '../parse';

const MINIO_NAMES = new Set(EVENT_NAMES);

/** Names that differ from MinIO's; a name MinIO also has (ObjectCreated:Put, Replication:..., ...) maps to itself. */
const EQUIVALENTS: Readonly<Record<string, string>> = {
  // AWS S3 (notification-how-to-event-types-and-destinations)
  'LifecycleExpiration:Delete': 's3:ObjectRemoved:Delete',
  'LifecycleExpiration:DeleteMarkerCreated': 's3:ObjectRemoved:DeleteMarkerCreated',
  LifecycleTransition: 's3:ObjectTransition:Complete',
  'ObjectTagging:Put': 's3:ObjectCreated:PutTagging',
  'ObjectTagging:Delete': 's3:ObjectCreated:DeleteTagging',
  // Ceph RGW (s3-notification-compatibility)
  'ObjectLifecycle:Expiration:Current': 's3:ObjectRemoved:Delete',
  'ObjectLifecycle:Expiration:NonCurrent': 's3:ObjectRemoved:Delete',
  'ObjectLifecycle:Expiration:Noncurrent': 's3:ObjectRemoved:Delete',
  'ObjectLifecycle:Expiration:DeleteMarker': 's3:ObjectRemoved:DeleteMarkerCreated',
  'ObjectLifecycle:Transition:Current': 's3:ObjectTransition:Complete',
  'ObjectLifecycle:Transition:NonCurrent': 's3:ObjectTransition:Complete',
  'ObjectLifecycle:Transition:Noncurrent': 's3:ObjectTransition:Complete',
};

/** `ObjectCreated:Put` (or `s3:ObjectCreated:Put`) -> `s3:ObjectCreated:Put`; a name MinIO has no equivalent for is an
 * error at `at`. */
export function toMinioEventName(name: string, at: string): string {
  const bare = name.startsWith('s3:') ? name.slice(3) : name;
  const minio = `s3:${bare}`;
  if (MINIO_NAMES.has(minio)) return minio;
  const equivalent = Object.hasOwn(EQUIVALENTS, bare) ? EQUIVALENTS[bare] : undefined; // never Object.prototype's ("constructor")
  if (equivalent) return equivalent;
  throw new EventValidationError(
    at,
    `${quoted(name)} has no MinIO equivalent (bucket rules use MinIO's s3: event names)`,
  );
}
