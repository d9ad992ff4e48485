import type { ReceivedInstance } from './received-instance.js';

/** Collects stored instances per study and hands a study over once it has been quiet. */
export interface StudyQuietPeriod {
  add(instance: ReceivedInstance): void;
  /** Studies still waiting for their quiet period to end. */
  pending(): number;
  /** Clears the timers; pending studies are dropped (their instances are in the PACS). */
  close(): void;
}

/**
 * DICOM has no "study complete" message in C-STORE, so a study counts as complete when no
 * instance of it has arrived for `quietMs` (the heuristic gateways such as MONAI Deploy's use).
 * A failed hand-over is retried after another quiet period, with any instances that came meanwhile.
 */
export function studyQuietPeriod(
  quietMs: number,
  complete: (instances: ReceivedInstance[]) => Promise<void>,
): StudyQuietPeriod {
  const studies = new Map<string, { instances: Map<string, ReceivedInstance>; timer: NodeJS.Timeout }>();
  let closed = false;
  const arm = (studyUid: string): NodeJS.Timeout =>
    setTimeout(() => {
      const study = studies.get(studyUid);
      if (!study) return;
      studies.delete(studyUid);
      const instances = [...study.instances.values()];
      complete(instances).catch(() => {
        if (closed) return;
        for (const instance of instances) add(instance, false);
      });
    }, quietMs);
  const add = (instance: ReceivedInstance, resetTimer = true): void => {
    if (closed) return;
    const study = studies.get(instance.studyInstanceUid);
    if (!study) {
      studies.set(instance.studyInstanceUid, {
        instances: new Map([[instance.sopInstanceUid, instance]]),
        timer: arm(instance.studyInstanceUid),
      });
      return;
    }
    study.instances.set(instance.sopInstanceUid, instance);
    if (resetTimer) {
      clearTimeout(study.timer);
      study.timer = arm(instance.studyInstanceUid);
    }
  };
  return {
    add: (instance) => add(instance),
    pending: () => studies.size,
    close() {
      closed = true;
      for (const study of studies.values()) clearTimeout(study.timer);
      studies.clear();
    },
  };
}
