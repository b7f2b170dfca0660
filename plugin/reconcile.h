/* The plugin's check of its Docker members after it starts: Mounts it
   recorded but died before answering, and Unmounts lost while dockerd was
   down, are dropped once dockerd says no live container holds them. */
#ifndef SHMPIPE_PLUGIN_RECONCILE_H
#define SHMPIPE_PLUGIN_RECONCILE_H

#include <stdbool.h>

#include "error.h"
#include "store.h"

/* Starts the check on a thread of its own, outside the request path:
   dockerd calls the plugin synchronously while it starts a container, and
   the check asks dockerd, so it must never be what a request waits for.
   It retries while no dockerd answers at SOCKET (for a minute), then says
   so in one line.  STORE must outlive the thread (see below). */
int sp_plugin_reconcile_start (struct sp_store *store, const char *socket, sp_error_t *err);

/* Whether the thread still runs (then STORE must not be closed). */
bool sp_plugin_reconcile_running (void);

#endif
