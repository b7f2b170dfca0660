/* Docker's VolumeDriver protocol as pure functions: a request body in, a reply
   body out, given a store.  No socket here, so the unit tests drive them
   directly; plugin/server.c only moves bytes. */
#ifndef SHMPIPE_PLUGIN_HANDLERS_H
#define SHMPIPE_PLUGIN_HANDLERS_H

#include <stdarg.h>
#include <stddef.h>

#include "store.h"

#define SP_PLUGIN_CONTENT_TYPE "application/vnd.docker.plugins.v1.1+json"
/* Docker's requests are a few hundred bytes; anything near this is abuse. */
#define SP_PLUGIN_BODY_MAX (64 * 1024)
/* Docker's requests nest two deep; the cap keeps yajl's recursive tree free
   (and our stack) out of reach of a hostile body. */
#define SP_PLUGIN_JSON_DEPTH_MAX 16
/* Member ids the plugin records: "docker:" + Docker's mount ID. */
#define SP_PLUGIN_MEMBER_PREFIX "docker:"

#define SP_HTTP_OK 200
#define SP_HTTP_NOT_FOUND 404
#define SP_HTTP_METHOD_NOT_ALLOWED 405
#define SP_HTTP_TOO_LARGE 413

struct sp_plugin_reply
{
  int status; /* HTTP status */
  char *body; /* JSON, NUL-terminated, malloc()ed */
  size_t len;
};

/* Handles a POST to ENDPOINT ("/VolumeDriver.Create", ...) with LEN bytes of
   BODY (BODY[LEN] must be '\0'; NULL means empty).  Always fills REPLY:
   volume errors (bad request, bad name, in use, ...) are HTTP 200 with
   {"Err": "..."}, which is what Docker reads; an unknown endpoint is 404 so
   that Docker takes it as "not implemented".  Returns 0, or -1 with a
   message in REPLY when the request failed. */
int sp_plugin_handle (struct sp_store *s, const char *endpoint, const char *body, size_t len,
                      struct sp_plugin_reply *reply);

/* Fills REPLY with {"Err": MESSAGE} and STATUS; returns -1. */
int sp_plugin_reply_error (struct sp_plugin_reply *reply, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

void sp_plugin_reply_free (struct sp_plugin_reply *reply);

#define cleanup_plugin_reply __attribute__ ((cleanup (sp_plugin_reply_free)))

#endif
