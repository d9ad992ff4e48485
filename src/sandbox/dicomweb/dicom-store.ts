import type { StoredInstance } from './dicom-instance.js';

/**
 * The sandbox's PACS storage: SOP instances kept in memory, in arrival order. Queries scan all
 * instances, which is fine for demo and test volumes (hundreds of instances).
 */
export interface DicomStore {
  /** Stores an instance; an existing instance with the same SOP Instance UID is replaced. */
  put(instance: StoredInstance): void;
  /** Every instance, in arrival order. */
  all(): StoredInstance[];
  /** Instances of one study, optionally narrowed to a series and an instance. */
  find(studyInstanceUid: string, seriesInstanceUid?: string, sopInstanceUid?: string): StoredInstance[];
  /** Number of stored instances. */
  size(): number;
}

/** Creates an empty in-memory store. */
export function createDicomStore(): DicomStore {
  const bySop = new Map<string, StoredInstance>();
  return {
    put(instance) {
      // Map keeps first-insertion order; delete first so a replaced instance moves to the end.
      bySop.delete(instance.sopInstanceUid);
      bySop.set(instance.sopInstanceUid, instance);
    },
    all() {
      return [...bySop.values()];
    },
    find(studyInstanceUid, seriesInstanceUid, sopInstanceUid) {
      return [...bySop.values()].filter(
        (i) =>
          i.studyInstanceUid === studyInstanceUid &&
          (seriesInstanceUid === undefined || i.seriesInstanceUid === seriesInstanceUid) &&
          (sopInstanceUid === undefined || i.sopInstanceUid === sopInstanceUid),
      );
    },
    size() {
      return bySop.size;
    },
  };
}
