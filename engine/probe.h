/* probe: is io_uring usable here, with the ops the engine needs? Run once at start so a
 * disabled or restricted io_uring fails with a message that says what to change. */
#ifndef RV_PROBE_H
#define RV_PROBE_H

/* 0 if usable; else -errno after logging one actionable line. */
int engine_probe(void);

#endif
