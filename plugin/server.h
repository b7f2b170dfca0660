/* The plugin's HTTP side: libmicrohttpd on a unix socket, one internal
   polling thread, requests handed to plugin/handlers.c one at a time. */
#ifndef SHMPIPE_PLUGIN_SERVER_H
#define SHMPIPE_PLUGIN_SERVER_H

#include "error.h"
#include "store.h"

/* Seconds an idle or stalled connection is kept. */
#define SP_PLUGIN_CONN_TIMEOUT 60
#define SP_PLUGIN_CONN_LIMIT 64

struct sp_server;

/* Serves STORE on LISTEN_FD (a bound, listening unix stream socket), which
   the server takes over: it is closed by sp_server_stop, or here on error. */
int sp_server_start (struct sp_store *store, int listen_fd, struct sp_server **out,
                     sp_error_t *err);

/* Finishes the request in progress, closes every connection and the socket. */
void sp_server_stop (struct sp_server *srv);

#endif
