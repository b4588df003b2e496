// Admission control: how many deliveries a worker holds at once. The ingest inside a worker admits a body only
// while the deliveries it started and whose fast path has not ended yet (plus the starts under way) stay under
// BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES; above it the sender gets 503 with Retry-After and sends again later
// (MinIO with queue_dir, RGW persistent topics and SNS all retry), so a burst waits at the sender instead of
// growing this process's memory, and nothing is lost. The workflow says when its fast path is over through a
// sink (workflows/types.ts DeliverySinks), which the worker routes to `released`; a delivery whose workflow
// task ran on another worker is let go after a lease. A standalone ingest (no worker) counts its starts only.
/** A held delivery no workflow reported on (its task ran elsewhere) is let go after this. */
const LEASE_MS = 60_000;

export class DeliveryAdmission {
  private readonly held = new Map<string, NodeJS.Timeout>();

  /** `max` 0 = no bound. `tracksDeliveries` false: a delivery counts only while its start is under way (no worker reports back). */
  constructor(readonly max: number, private readonly tracksDeliveries = true, private readonly leaseMs = LEASE_MS) {}

  /** Deliveries held now: being started, or started and not yet reported over. */
  get count(): number {
    return this.held.size;
  }

  /**
   * Holds a body's deliveries (by workflow id, known before the start, so a workflow that ends before its start
   * call returns is released all the same), or returns false when that would go over the bound. A body is never
   * refused while nothing is held, so a body larger than the bound is still accepted, alone.
   */
  tryEnter(workflowIds: readonly string[]): boolean {
    if (this.max > 0 && this.count > 0 && this.count + workflowIds.length > this.max) return false;
    for (const workflowId of workflowIds) {
      clearTimeout(this.held.get(workflowId));
      this.held.set(workflowId, setTimeout(() => this.held.delete(workflowId), this.leaseMs).unref());
    }
    return true;
  }

  /** The starts ended; `notStarted` (duplicates, failed starts) are let go, and without a worker reporting back, all. */
  leave(workflowIds: readonly string[], notStarted: readonly string[]): void {
    for (const workflowId of this.tracksDeliveries ? notStarted : workflowIds) this.released(workflowId);
  }

  /** A workflow's fast path is over (delivered, failed, or handed to its durable retries): it no longer counts. */
  released(workflowId: string): void {
    clearTimeout(this.held.get(workflowId));
    this.held.delete(workflowId);
  }

  close(): void {
    for (const timer of this.held.values()) clearTimeout(timer);
    this.held.clear();
  }
}
