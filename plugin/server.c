#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>

#include "cleanup.h"
#include "handlers.h"
#include "log.h"

/* A body over the cap is still read (and dropped) up to this much so that
   the client gets its Err reply; past it the connection is cut (chunked) or
   the reply comes before the body (Content-Length). */
#define DISCARD_MAX (16 * SP_PLUGIN_BODY_MAX)

struct sp_server
{
  struct MHD_Daemon *daemon;
  struct sp_store *store;
};

/* One request's body as it arrives. */
struct request
{
  char *buf;
  size_t len;
  size_t discarded;
  bool too_large;
};

static void
request_free (struct request *rq)
{
  if (rq == NULL)
    return;
  free (rq->buf);
  free (rq);
}

static void
on_completed (void *cls, struct MHD_Connection *c, void **con_cls,
              enum MHD_RequestTerminationCode toe)
{
  (void) cls, (void) c, (void) toe;
  request_free (*con_cls);
  *con_cls = NULL;
}

static void
on_mhd_log (void *cls, const char *fmt, va_list ap)
{
  char msg[512];
  size_t n;

  (void) cls;
  vsnprintf (msg, sizeof (msg), fmt, ap);
  n = strlen (msg);
  while (n > 0 && msg[n - 1] == '\n')
    msg[--n] = '\0';
  sp_log_warning ("http: %s", msg);
}

/* Queues REPLY (taking its body) with Docker's plugin content type. */
static enum MHD_Result
send_reply (struct MHD_Connection *c, struct sp_plugin_reply *reply)
{
  struct MHD_Response *resp;
  enum MHD_Result r;

  resp = MHD_create_response_from_buffer (reply->len, reply->body, MHD_RESPMEM_MUST_FREE);
  if (resp == NULL)
    {
      sp_plugin_reply_free (reply);
      return MHD_NO;
    }
  reply->body = NULL; /* MHD frees it now */
  reply->len = 0;
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, SP_PLUGIN_CONTENT_TYPE);
  r = MHD_queue_response (c, (unsigned int) reply->status, resp);
  MHD_destroy_response (resp);
  return r;
}

static enum MHD_Result
reply_error (struct MHD_Connection *c, int status, const char *msg)
{
  struct sp_plugin_reply reply = { 0 };

  sp_plugin_reply_error (&reply, status, "%s", msg);
  return send_reply (c, &reply);
}

static enum MHD_Result
reply_too_large (struct MHD_Connection *c)
{
  struct sp_plugin_reply reply = { 0 };

  sp_plugin_reply_error (&reply, SP_HTTP_TOO_LARGE, "request body larger than %d bytes",
                         SP_PLUGIN_BODY_MAX);
  return send_reply (c, &reply);
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *c, const char *url, const char *method,
            const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  struct sp_server *srv = cls;
  struct request *rq = *con_cls;
  cleanup_plugin_reply struct sp_plugin_reply reply = { 0 };

  (void) version;
  if (rq == NULL)
    {
      /* Headers only so far: refuse early what needs no body to refuse (a
         reply queued now makes MHD drop the body and close). */
      const char *cl
          = MHD_lookup_connection_value (c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      if (strcmp (method, MHD_HTTP_METHOD_POST) != 0)
        {
          char msg[128];
          snprintf (msg, sizeof (msg), "method %.16s not allowed: the plugin API takes POST",
                    method);
          return reply_error (c, SP_HTTP_METHOD_NOT_ALLOWED, msg);
        }
      /* A body a little over the cap is read and dropped, so that the client,
         still sending, gets the reply rather than a broken pipe; a huge one
         is refused now (a client that sent "Expect: 100-continue" gets the
         reply before sending anything). */
      if (cl != NULL && strtoull (cl, NULL, 10) > DISCARD_MAX)
        return reply_too_large (c);
      rq = calloc (1, sizeof (*rq));
      if (rq == NULL)
        return MHD_NO;
      *con_cls = rq;
      return MHD_YES;
    }
  if (*upload_data_size > 0)
    {
      size_t n = *upload_data_size;
      *upload_data_size = 0;
      /* Chunked bodies have no Content-Length to check up front. */
      if (!rq->too_large && rq->len + n > SP_PLUGIN_BODY_MAX)
        {
          rq->too_large = true;
          free (rq->buf);
          rq->buf = NULL;
          rq->len = 0;
        }
      if (rq->too_large)
        {
          rq->discarded += n;
          return rq->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
        }
      char *nb = realloc (rq->buf, rq->len + n + 1);
      if (nb == NULL)
        return MHD_NO;
      memcpy (nb + rq->len, upload_data, n);
      rq->buf = nb;
      rq->len += n;
      rq->buf[rq->len] = '\0';
      return MHD_YES;
    }
  if (rq->too_large)
    return reply_too_large (c);
  sp_plugin_handle (srv->store, url, rq->buf, rq->len, &reply);
  return send_reply (c, &reply);
}

int
sp_server_start (struct sp_store *store, int listen_fd, struct sp_server **out, sp_error_t *err)
{
  cleanup_close int fd = listen_fd;
  cleanup_free struct sp_server *srv = NULL;
  int mhd_fd;

  *out = NULL;
  srv = calloc (1, sizeof (*srv));
  if (srv == NULL)
    return sp_error_sys (err, ENOMEM, "server");
  srv->store = store;
  /* MHD takes the socket non-blocking: an accept must never stall the one
     thread that serves everything. */
  if (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK) < 0)
    return sp_error_sys (err, errno, "server: listening socket");
  /* A copy for MHD: whatever MHD does with it on failure, ours is closed
     exactly once. */
  mhd_fd = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  if (mhd_fd < 0)
    return sp_error_sys (err, errno, "server: dup");
  /* One internal thread: requests are handled one after the other, so the
     handlers need no locking beyond the store's own. */
  srv->daemon = MHD_start_daemon (
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request,
      srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
      (MHD_socket) mhd_fd, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) SP_PLUGIN_CONN_TIMEOUT,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned int) SP_PLUGIN_CONN_LIMIT, MHD_OPTION_NOTIFY_COMPLETED,
      on_completed, NULL, MHD_OPTION_END);
  if (srv->daemon == NULL)
    return sp_error_make (err, 0, "server: cannot start the HTTP server (libmicrohttpd)");
  *out = sp_steal_ptr (&srv);
  return 0;
}

void
sp_server_stop (struct sp_server *srv)
{
  if (srv == NULL)
    return;
  MHD_stop_daemon (srv->daemon);
  free (srv);
}
