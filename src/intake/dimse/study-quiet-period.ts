/** Timers of the studies inside their quiet period; the studies themselves live in Postgres. */
export interface StudyQuietPeriod {
  /** An instance of the study was just recorded: its quiet period starts again. */
  touch(studyInstanceUid: string): void;
  /** Studies found recorded at start-up, each quiet for `quietForMs` already. */
  restore(studies: ReadonlyArray<{ studyInstanceUid: string; quietForMs: number }>): void;
  /** Studies with a timer armed. */
  pending(): number;
  /** Clears the timers; the recorded studies stay for the next start. */
  close(): void;
}

/** Where {@link studyQuietPeriod} asks about, and hands over, a study. */
export interface QuietStudySource {
  /** How long the recorded study has been quiet; undefined when nothing of it is recorded. */
  quietFor(studyInstanceUid: string): Promise<number | undefined>;
  /** Hands the recorded study over and removes its record; rejects to be retried. */
  complete(studyInstanceUid: string): Promise<void>;
}

/**
 * DICOM has no "study complete" message in C-STORE, so a study counts as complete when no
 * instance of it has arrived for `quietMs` (the heuristic gateways such as MONAI Deploy's use).
 * The instances and their arrival times are recorded (Postgres, `dimse_pending_instances`) before
 * the C-STORE is answered; these timers only say when to look. When one fires, the record decides:
 * quiet long enough → hand over; an instance came since (here or in another intake process) →
 * wait for the rest; nothing recorded → another process has handed it over. A failed hand-over is
 * retried after another quiet period. So after a restart, {@link StudyQuietPeriod.restore} arms
 * the recorded studies with what is left of their quiet period and each is handed over once.
 */
export function studyQuietPeriod(quietMs: number, source: QuietStudySource): StudyQuietPeriod {
  const timers = new Map<string, NodeJS.Timeout>();
  let closed = false;
  const arm = (studyUid: string, delayMs: number): void => {
    if (closed) return;
    clearTimeout(timers.get(studyUid));
    timers.set(
      studyUid,
      setTimeout(() => void fire(studyUid), Math.max(0, Math.ceil(delayMs))),
    );
  };
  const fire = async (studyUid: string): Promise<void> => {
    timers.delete(studyUid);
    try {
      const quietFor = await source.quietFor(studyUid);
      if (quietFor === undefined) return;
      if (quietFor < quietMs) {
        if (!timers.has(studyUid)) arm(studyUid, quietMs - quietFor);
        return;
      }
      await source.complete(studyUid);
    } catch {
      if (!timers.has(studyUid)) arm(studyUid, quietMs);
    }
  };
  return {
    touch: (studyUid) => arm(studyUid, quietMs),
    restore(studies) {
      for (const { studyInstanceUid, quietForMs } of studies) arm(studyInstanceUid, quietMs - quietForMs);
    },
    pending: () => timers.size,
    close() {
      closed = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
