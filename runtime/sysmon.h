/*
 * sysmon.h - the system monitor, after Erlang's
 * erlang:system_monitor(long_schedule).
 *
 * Each scheduler publishes the start of its current turn and the actor in
 * it (sched.h: turn_start, turn_pid). A turn longer than
 * opts.long_turn_ms is logged with pid, registered name and behaviour
 * and counted (on the actor and on the runtime) when it ends. Because a
 * turn that never ends is the worst case, a monitor thread also reads
 * every scheduler's turn each long_turn_ms / 2 and logs a turn still
 * running past the limit, once per turn.
 */
#ifndef CLEO_RUNTIME_SYSMON_H
#define CLEO_RUNTIME_SYSMON_H

#include <stdint.h>

#include "runtime/rt.h"

typedef struct rt_sysmon_s rt_sysmon_t;

/* How often the monitor thread looks: long_turn_ms / 2, within
 * RT_SYSMON_MIN_MS..RT_SYSMON_MAX_MS. */
#define RT_SYSMON_MIN_MS 10u
#define RT_SYSMON_MAX_MS 500u
uint64_t rt__sysmon_interval_ms(uint32_t long_turn_ms);

/* Start the monitor thread for rt's schedulers (rt->scheds must stay
 * valid until rt__sysmon_stop). @return 0 or -errno. */
int rt__sysmon_start(rt_t *rt, rt_sysmon_t **out);

/* Stop and join the thread and free m. Accepts NULL. */
void rt__sysmon_stop(rt_sysmon_t *m);

/* A turn of pid (behaviour beh) on scheduler sched took ms, more than
 * opts.long_turn_ms: log it and count it on the runtime and, if it is
 * still alive, on the actor. Called by the scheduler after the turn. */
void rt__sysmon_long_turn(rt_t *rt, uint32_t sched, rt_pid_t pid,
                          const rt_behaviour_t *beh, uint64_t ms);

#endif
