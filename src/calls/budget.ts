/**
 * The scan budget: how many upstream list requests one GraphQL request may send to each connection
 * while reading `calls` (SWITCHBOARD_SCAN_BUDGET). A filter no provider can apply would otherwise
 * read a connection's whole history for one page; past the budget the merge stops at its frontier
 * and the page says where to continue (docs/pagination.md). Shared by every `calls` field of the
 * request, so aliases do not multiply it.
 */
export class ScanBudget {
  private readonly used = new Map<string, number>();

  /** `perConnection`: list requests per connection label for the whole GraphQL request (≥ 1). */
  constructor(readonly perConnection: number) {}

  /** Whether `label` has no list request left. */
  spent(label: string): boolean {
    return (this.used.get(label) ?? 0) >= this.perConnection;
  }

  /**
   * Counts one list request to `label` and says whether it may be sent: false when the label's
   * budget is spent, unless `regardless` (a stream that has not moved yet always may, so every
   * page makes progress); then it is counted all the same.
   */
  take(label: string, regardless = false): boolean {
    if (this.spent(label) && !regardless) return false;
    this.used.set(label, (this.used.get(label) ?? 0) + 1);
    return true;
  }
}
