/* Fault injection for tests: SHMPIPE_FAULT=POINT makes the process SIGKILL
   itself when it reaches POINT, so tests can prove that a crash anywhere
   leaves the store consistent and `shmpipectl gc` repairs it.  The
   variable comes from the runtime's or the admin's environment, never from
   a container. */
#ifndef SHMPIPE_FAULT_H
#define SHMPIPE_FAULT_H

void sp_fault_point (const char *point);

#endif
