/* Persistent pipelines' definitions on disk: what survives a reboot.

   The store's root (/run/shmpipe) is memory: records, locks and every tmpfs
   are gone after a reboot.  A persistent pipeline's definition (its name,
   options and allow list; never its members or content) is also kept in
   the definitions directory, DEFS/NAME.json, in the record's format without
   members.  `shmpipectl restore` (also run by gc and the plugin's start)
   makes every defined pipeline that has no record again, empty.  Until it
   has, a container naming one is refused rather than given a looser
   pipeline.

   DEFS is $SHMPIPE_DEFINITIONS when set, else SP_DEFAULT_DEFINITIONS for
   the default root, else ROOT/definitions (a store at another root keeps
   its definitions with it).  Definitions are written under their
   pipeline's lock, by temp file, fsync and rename. */
#ifndef SHMPIPE_DEFINITIONS_H
#define SHMPIPE_DEFINITIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "records.h"
#include "state.h"
#include "store.h"

#define SP_DEFAULT_DEFINITIONS "/var/lib/shmpipe/pipelines"
#define SP_DEFINITIONS_ENV "SHMPIPE_DEFINITIONS"
/* ROOT/restored, in the store's memory part: written by each restore, it
   says that one ran since boot, and names the pipelines it could not make
   (one a line). */
#define SP_RESTORED_FILE "restored"

/* The definitions directory of the store at ROOT (see above). */
int sp_definitions_path (const char *root, char *buf, size_t len, sp_error_t *err);

/* Opens (creating) S's definitions directory into S->defs_fd. */
int sp_defs_open (struct sp_store *s, sp_error_t *err);

/* REF's definition: 1 loaded, 0 none, -1 error. */
int sp_def_load (struct sp_store *s, const struct sp_ref *ref, struct sp_pipeline *p,
                 sp_error_t *err);
bool sp_def_exists (struct sp_store *s, const struct sp_ref *ref);
/* Makes REF's definition follow its record P (REF's lock held): written
   when P is persistent and it is missing or differs, removed when P is
   ephemeral. */
int sp_def_sync (struct sp_store *s, const struct sp_ref *ref, const struct sp_pipeline *p,
                 sp_error_t *err);
/* Removes REF's definition (absent: fine). */
int sp_def_remove (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err);

/* Whether REF has a definition waiting for a restore: no restore ran since
   boot, or the last one could not make it.  (A definition left after a
   restore, or beside a mounted tmpfs, is stale: its pipeline was removed
   by an older release or by a remove that was interrupted; restore drops
   it.) */
bool sp_def_pending (struct sp_store *s, const struct sp_ref *ref);

/* The error for REF having no record (REF's lock held): "does not exist",
   or, when a definition is pending, that it was not restored since boot and
   how to restore it (status EAGAIN).  Returns -1. */
int sp_def_missing (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err);
/* 0 when REF (without a record) may be created, else sp_def_missing's
   refusal. */
int sp_def_check_undefined (struct sp_store *s, const struct sp_ref *ref, sp_error_t *err);

/* sp_def_check_undefined for NAME as users give it (the error names the
   pipeline). */
int sp_store_check_undefined (struct sp_store *s, const char *name, sp_error_t *err);

/* For ls: the sorted names of the pipelines defined but not restored yet
   (free with sp_store_free_names), and one's definition. */
int sp_store_list_unrestored (struct sp_store *s, char ***names, size_t *n, sp_error_t *err);
int sp_store_get_definition (struct sp_store *s, const char *name, struct sp_pipeline *p,
                             sp_error_t *err);

#endif
