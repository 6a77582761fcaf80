/**
 * One generation of ownership as a pod asks about it: which pod a key's home is and whether it is
 * this pod, read exactly as the proxy reads keys (the key transform, then the one key hash) and
 * answered by the same algorithm over the same set.
 */
import type { DataPlane } from '../dataplane/data-plane.js';
import type { Assignment } from '../directory/assignment.js';
import type { Member } from '../directory/membership.js';
import { memberOf, membersOf } from '../directory/membership.js';

export class OwnershipView {
  /** This process's count of the sets it applied; 1 for the first. */
  readonly generation: number;
  /** Equal in every process (proxy, directory, pod) with the same membership. */
  readonly membership: string;
  readonly members: readonly Member[];
  readonly #assignment: Assignment;
  readonly #plane: DataPlane;
  readonly #self: string;

  constructor(assignment: Assignment, plane: DataPlane, self: string) {
    this.generation = assignment.generation;
    this.membership = assignment.membership;
    this.members = membersOf(assignment.set);
    this.#assignment = assignment;
    this.#plane = plane;
    this.#self = self;
  }

  /** The member whose home `key` is (the key text as a request carries it), or null when it has none. */
  owner(key: string): Member | null {
    const k = this.#plane.key(key);
    if (k === null) return null;
    const home = this.#assignment.home(k);
    return 'kind' in home ? null : memberOf(home);
  }

  /** True when `key`'s home is this pod. */
  owns(key: string): boolean {
    return this.owner(key)?.endpoint === this.#self;
  }
}
