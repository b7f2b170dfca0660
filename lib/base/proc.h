/* What /proc tells about a process: enough to tell a live pid from a reused one. */
#ifndef SHMPIPE_PROC_H
#define SHMPIPE_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Field 22 of /proc/PID/stat (clock ticks since boot); -1 when PID is gone. */
int sp_proc_start_time (pid_t pid, uint64_t *out);

/* True when PID runs and started at START_TIME (0: any start time). */
bool sp_proc_alive (pid_t pid, uint64_t start_time);

/* Parses the text of a /proc/PID/stat file (exposed for tests). */
int sp_proc_parse_stat (const char *buf, uint64_t *start_time);

#endif
