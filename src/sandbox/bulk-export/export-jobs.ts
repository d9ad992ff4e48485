import { parseSearchRequest } from '@medplum/core';
import type { Group, Resource } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import type { SandboxRepository } from '../ehr/sandbox-repository.js';
import type { ExportRequest } from './export-request.js';

/** One NDJSON output file of a finished export. */
export interface ExportFile {
  type: string;
  lines: string[];
}

/** An export job: running, finished (files) or failed. */
export interface ExportJob {
  id: string;
  request: ExportRequest;
  requestUrl: string;
  transactionTime: string;
  state: 'running' | 'done' | 'failed';
  files: ExportFile[];
  error?: string;
  /** Earliest time the status endpoint reports completion (simulates a long-running export). */
  readyAt: number;
}

/** Options of {@link createExportJobs}. */
export interface ExportJobsOptions {
  repo: SandboxRepository;
  /** Resources per NDJSON file (a large export is split, as real servers do). Default 1000. */
  linesPerFile?: number;
  /** How long an export stays "in progress" before completing, in ms. Default 0. */
  minDurationMs?: number;
}

/** The sandbox's store of export jobs (in memory, like the rest of the sandbox). */
export interface ExportJobs {
  start(request: ExportRequest, requestUrl: string): ExportJob;
  get(id: string): ExportJob | undefined;
  delete(id: string): boolean;
}

const PAGE = 5000;

function subjectPatientId(resource: Resource): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id;
  const ref = (resource as { subject?: { reference?: string } }).subject?.reference;
  return ref?.startsWith('Patient/') ? ref.slice('Patient/'.length) : undefined;
}

/**
 * Creates the job store. A job snapshots the matching resources at kick-off (the export's
 * `transactionTime`), filtered by level (system, all patients, or a Group's members), `_type`,
 * `_since` (meta.lastUpdated after it) and `_typeFilter` (a FHIR search per type; a resource
 * matching any of its type's filters is included — Bulk Data 2.0 §_typeFilter "OR" semantics).
 */
export function createExportJobs(options: ExportJobsOptions): ExportJobs {
  const jobs = new Map<string, ExportJob>();
  const linesPerFile = options.linesPerFile ?? 1000;

  async function search(resourceType: string, query: string): Promise<Resource[]> {
    const out: Resource[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const request = parseSearchRequest(`${resourceType}?${query}`);
      request.count = PAGE;
      request.offset = offset;
      const page = await options.repo.searchResources(request);
      out.push(...page);
      if (page.length < PAGE) return out;
    }
  }

  async function run(job: ExportJob): Promise<void> {
    const { request } = job;
    let members: Set<string> | undefined;
    if (request.level === 'group') {
      const group = (await options.repo.readResource('Group', request.groupId ?? '')) as Group;
      members = new Set(
        (group.member ?? [])
          .map((m) => m.entity.reference ?? '')
          .filter((r) => r.startsWith('Patient/'))
          .map((r) => r.slice('Patient/'.length)),
      );
    }
    for (const type of request.types) {
      const filters = request.typeFilters.filter((f) => f.resourceType === type);
      const found = new Map<string, Resource>();
      for (const query of filters.length > 0 ? filters.map((f) => f.query) : ['']) {
        for (const r of await search(type, query)) found.set(r.id ?? '', r);
      }
      let file: ExportFile | undefined;
      for (const resource of found.values()) {
        if (request.since && Date.parse(resource.meta?.lastUpdated ?? '') <= request.since.getTime()) continue;
        if (request.level !== 'system') {
          const patientId = subjectPatientId(resource);
          if (!patientId || (members && !members.has(patientId))) continue;
        }
        if (!file || file.lines.length >= linesPerFile) {
          file = { type, lines: [] };
          job.files.push(file);
        }
        file.lines.push(JSON.stringify(resource));
      }
    }
  }

  return {
    start(request, requestUrl) {
      const job: ExportJob = {
        id: randomUUID(),
        request,
        requestUrl,
        transactionTime: new Date().toISOString(),
        state: 'running',
        files: [],
        readyAt: Date.now() + (options.minDurationMs ?? 0),
      };
      jobs.set(job.id, job);
      run(job).then(
        () => {
          job.state = 'done';
        },
        (err: unknown) => {
          job.state = 'failed';
          job.error = err instanceof Error ? err.message : String(err);
        },
      );
      return job;
    },
    get: (id) => jobs.get(id),
    delete: (id) => jobs.delete(id),
  };
}
