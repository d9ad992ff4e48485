import { AsyncLocalStorage } from 'node:async_hooks';
import type { Resource, Bundle, BundleEntry } from '@medplum/fhirtypes';
import type { SearchRequest, WithId } from '@medplum/core';
import { OperationOutcomeError, matchesSearchRequest, notFound, preconditionFailed } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { CreateResourceOptions, UpdateResourceOptions } from '@medplum/fhir-router';
import type { FhirDefinitions } from './fhir-definitions.js';
import { compareBySortRules } from './search-sort.js';
import { collectIncludes } from './search-includes.js';
import { SearchIndex } from './search-index.js';
import { normalizeReferenceFilters } from './reference-filters.js';

/** What happened to a resource, as seen by subscription matching. */
export type WriteInteraction = 'create' | 'update' | 'delete';

/** One committed write. `resource` is the stored version (for delete: the last version). */
export interface ResourceWriteEvent {
  interaction: WriteInteraction;
  resource: WithId<Resource>;
}

/**
 * Called before a resource is validated and stored; may return a changed copy (e.g. a
 * Subscription's `requested` status becoming `active`, FHIR R4 §Subscription status).
 */
export type BeforeWriteHook = (resource: Resource, interaction: 'create' | 'update') => Resource;

/** Called after a write is committed (after the whole transaction, for transaction Bundles). */
export type WriteListener = (event: ResourceWriteEvent) => void;

/** Dependencies of {@link SandboxRepository}. */
export interface SandboxRepositoryOptions {
  definitions: FhirDefinitions;
}

/** The private storage of `MemoryRepository` (4.5.2), read for fast search and transaction undo. */
interface MemoryRepositoryInternals {
  resources: Map<string, Map<string, Resource>>;
  history: Map<string, Map<string, Resource[]>>;
}

interface TransactionContext {
  undo: Array<{ resourceType: string; id: string; previous: Resource | undefined; historyLength: number }>;
  events: ResourceWriteEvent[];
}

/**
 * `@medplum/fhir-router`'s `MemoryRepository` made fit to stand in for an EHR:
 * - every create/update is validated against the R4 StructureDefinitions (`MemoryRepository`
 *   itself does not validate); invalid → `OperationOutcomeError` (HTTP 400) with element paths;
 * - server-assigned ids on plain create (FHIR R4 §3.1.0.1.4 http.html#create: the server ignores
 *   a client id), server-assigned `meta.versionId`/`meta.lastUpdated`;
 * - transactions are atomic: a failure undoes every write made inside `withTransaction`
 *   (FHIR R4 §3.1.0.11.2 http.html#transaction), and listeners hear of the writes only on commit;
 * - search implements `_sort` with several keys, `_include`, `_revinclude` and pages without
 *   cloning every match.
 */
export class SandboxRepository extends MemoryRepository {
  private readonly definitions: FhirDefinitions;
  private readonly beforeWriteHooks: BeforeWriteHook[] = [];
  private readonly writeListeners: WriteListener[] = [];
  private readonly transactionContext = new AsyncLocalStorage<TransactionContext>();
  private readonly prevalidatedScope = new AsyncLocalStorage<true>();
  private transactionQueue: Promise<unknown> = Promise.resolve();
  private readonly searchIndex = new SearchIndex();

  /** @param options - the definitions used to validate writes. */
  constructor(options: SandboxRepositoryOptions) {
    super();
    this.definitions = options.definitions;
    const internals = this.internals();
    if (!(internals.resources instanceof Map) || !(internals.history instanceof Map)) {
      throw new Error('SandboxRepository: @medplum/fhir-router MemoryRepository internals changed');
    }
  }

  /**
   * Runs `fn` with validation of writes skipped, for a transaction Bundle whose every POST/PUT
   * entry was already validated (the router only rewrites ids and references afterwards, which
   * cannot change the outcome). Validation is the dominant cost of loading Synthea Bundles.
   */
  withPrevalidatedWrites<T>(fn: () => Promise<T>): Promise<T> {
    return this.prevalidatedScope.run(true, fn);
  }

  /** Registers a hook run before validation of every create/update. */
  addBeforeWriteHook(hook: BeforeWriteHook): void {
    this.beforeWriteHooks.push(hook);
  }

  /** Registers a listener told of every committed write. */
  addWriteListener(listener: WriteListener): void {
    this.writeListeners.push(listener);
  }

  /** The current version of a resource without cloning (read-only use), or `undefined`. */
  peek(resourceType: string, id: string): Resource | undefined {
    return this.current(resourceType, id);
  }

  /**
   * `Patient/{id}` whose compartment a stored resource is in (the Patient itself, else its
   * `subject` or `patient` reference), or `undefined` (not stored, or in no patient's compartment).
   */
  patientOf(resourceType: string, id: string): string | undefined {
    if (resourceType === 'Patient') return this.current(resourceType, id) ? `Patient/${id}` : undefined;
    const resource = this.current(resourceType, id) as { subject?: { reference?: string }; patient?: { reference?: string } } | undefined;
    const reference = resource?.subject?.reference ?? resource?.patient?.reference;
    return reference?.startsWith('Patient/') ? reference : undefined;
  }

  /** Number of current resources of a type (for tests, metrics and benchmarks). */
  countResources(resourceType: string): number {
    return this.internals().resources.get(resourceType)?.size ?? 0;
  }

  private internals(): MemoryRepositoryInternals {
    return this as unknown as MemoryRepositoryInternals;
  }

  private prepare(resource: Resource, interaction: 'create' | 'update'): Resource {
    let prepared = resource;
    for (const hook of this.beforeWriteHooks) prepared = hook(prepared, interaction);
    if (this.prevalidatedScope.getStore()) return prepared;
    const outcome = this.definitions.validate(prepared);
    if (outcome) throw new OperationOutcomeError(outcome);
    return prepared;
  }

  private current(resourceType: string, id: string): Resource | undefined {
    return this.internals().resources.get(resourceType)?.get(id);
  }

  private async store<T extends Resource>(resource: T, interaction: WriteInteraction): Promise<WithId<T>> {
    const copy = structuredClone(resource) as T;
    // Server-assigned version and timestamp (FHIR R4 §2.6.0.1 Resource.meta).
    if (copy.meta) {
      delete copy.meta.versionId;
      delete copy.meta.lastUpdated;
    }
    const id = copy.id ?? this.generateId();
    copy.id = id;
    const previous = this.current(copy.resourceType, id);
    const historyLength = this.internals().history.get(copy.resourceType)?.get(id)?.length ?? 0;
    const stored = await super.createResource(copy);
    this.searchIndex.put(stored);
    const effective: WriteInteraction = interaction === 'update' && !previous ? 'create' : interaction;
    this.recordWrite({ resourceType: copy.resourceType, id, previous, historyLength }, {
      interaction: effective,
      resource: stored as WithId<Resource>,
    });
    return stored;
  }

  private recordWrite(undo: TransactionContext['undo'][number], event: ResourceWriteEvent): void {
    const context = this.transactionContext.getStore();
    if (context) {
      context.undo.push(undo);
      context.events.push(event);
    } else {
      this.emit([event]);
    }
  }

  private emit(events: ResourceWriteEvent[]): void {
    for (const event of events) {
      for (const listener of this.writeListeners) listener(event);
    }
  }

  /** Validated create; a client-supplied id is replaced unless the router assigned it. */
  override async createResource<T extends Resource>(resource: T, options?: CreateResourceOptions): Promise<WithId<T>> {
    const input = options?.assignedId ? resource : { ...resource, id: undefined };
    const prepared = this.prepare(input, 'create') as T;
    return this.store(prepared, 'create');
  }

  /** Validated update (or create-on-update); honours `If-Match` (FHIR R4 §3.1.0.4.2). */
  override async updateResource<T extends Resource>(resource: T, options?: UpdateResourceOptions): Promise<WithId<T>> {
    if (!resource.id) {
      throw new OperationOutcomeError({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'required', details: { text: 'Missing id' }, expression: [`${resource.resourceType}.id`] }],
      });
    }
    if (options?.ifMatch) {
      const existing = this.current(resource.resourceType, resource.id);
      if (!existing) throw new OperationOutcomeError(notFound);
      if (existing.meta?.versionId !== options.ifMatch) throw new OperationOutcomeError(preconditionFailed);
    }
    const prepared = this.prepare(resource, 'update') as T;
    return this.store(prepared, 'update');
  }

  /** Delete, journalled so a failed transaction restores the resource. */
  override async deleteResource(resourceType: string, id: string): Promise<void> {
    const previous = this.current(resourceType, id);
    if (!previous) throw new OperationOutcomeError(notFound);
    const historyLength = this.internals().history.get(resourceType)?.get(id)?.length ?? 0;
    await super.deleteResource(resourceType, id);
    this.searchIndex.remove(resourceType, id);
    this.recordWrite({ resourceType, id, previous, historyLength }, {
      interaction: 'delete',
      resource: structuredClone(previous) as WithId<Resource>,
    });
  }

  /**
   * Runs `callback` atomically: transactions are serialised, nested calls (the router's
   * conditional create/update inside a transaction Bundle) join the outer one, and a thrown
   * error undoes every write of the transaction before it propagates.
   */
  override withTransaction<TResult>(callback: (client: undefined) => Promise<TResult>): Promise<TResult> {
    if (this.transactionContext.getStore()) return callback(undefined);
    const run = async (): Promise<TResult> => {
      const context: TransactionContext = { undo: [], events: [] };
      try {
        const result = await this.transactionContext.run(context, () => callback(undefined));
        this.emit(context.events);
        return result;
      } catch (err) {
        this.rollback(context);
        throw err;
      }
    };
    const result = this.transactionQueue.then(run, run);
    this.transactionQueue = result.catch(() => undefined);
    return result;
  }

  private rollback(context: TransactionContext): void {
    const { resources, history } = this.internals();
    for (const step of context.undo.reverse()) {
      const versions = history.get(step.resourceType)?.get(step.id);
      if (versions) versions.length = step.historyLength;
      if (step.previous) {
        let byId = resources.get(step.resourceType);
        if (!byId) {
          byId = new Map();
          resources.set(step.resourceType, byId);
        }
        byId.set(step.id, step.previous);
        this.searchIndex.put(step.previous);
      } else {
        resources.get(step.resourceType)?.delete(step.id);
        this.searchIndex.remove(step.resourceType, step.id);
      }
    }
  }

  /**
   * FHIR search (R4 §3.1.1 search.html) over the in-memory store: filters via
   * `matchesSearchRequest`, multi-key `_sort`, `_offset`/`_count` paging, `_include` and
   * `_revinclude`; reference values may be bare ids or absolute URLs. Only the returned page is
   * cloned.
   */
  override async search<T extends Resource>(request: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    const searchRequest = normalizeReferenceFilters(request);
    const byId = this.internals().resources.get(searchRequest.resourceType);
    const matches: Resource[] = [];
    if (byId) {
      const candidateIds = this.searchIndex.candidates(searchRequest);
      const candidates: Iterable<Resource | undefined> = candidateIds
        ? [...candidateIds].map((id) => byId.get(id))
        : byId.values();
      for (const resource of candidates) {
        if (resource && matchesSearchRequest(resource, searchRequest)) matches.push(resource);
      }
      // Index candidates come in id order; restore storage (insertion) order when unsorted.
      if (candidateIds && !searchRequest.sortRules?.length) matches.sort(byLastUpdated);
    }
    if (searchRequest.sortRules?.length) {
      const rules = searchRequest.sortRules;
      matches.sort((a, b) => compareBySortRules(a, b, rules));
    }
    const offset = searchRequest.offset ?? 0;
    const page = searchRequest.count === undefined ? matches.slice(offset) : matches.slice(offset, offset + searchRequest.count);
    const entry: BundleEntry<WithId<T>>[] = page.map((resource) => ({
      resource: structuredClone(resource) as WithId<T>,
      search: { mode: 'match' },
    }));
    const { resources } = this.internals();
    const included = collectIncludes(page, searchRequest, {
      all: (type) => resources.get(type)?.values() ?? [],
      get: (type, id) => resources.get(type)?.get(id),
    });
    for (const resource of included) {
      entry.push({ resource: structuredClone(resource) as WithId<T>, search: { mode: 'include' } });
    }
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total: matches.length,
      ...(entry.length ? { entry } : {}),
    };
  }
}

function byLastUpdated(a: Resource, b: Resource): number {
  return (a.meta?.lastUpdated ?? '').localeCompare(b.meta?.lastUpdated ?? '');
}
