/* The release (the file VERSION) and the commit, both baked in at build time
   (the Makefile's SHMPIPE_VERSION and SHMPIPE_COMMIT). */
#ifndef SHMPIPE_VERSION_H
#define SHMPIPE_VERSION_H

#include <stdio.h>

/* "0.3.0" */
extern const char sp_version[];
/* `git describe` of the tree built ("v0.2.0-14-g1365ad0a6a5b-dirty"), the
   commit of a `git archive` tarball, or "unknown". */
extern const char sp_commit[];

/* "PROG 0.3.0 (commit v0.2.0-14-g1365ad0a6a5b)" and a newline, on OUT: what
   every binary's --version prints. */
void sp_version_print (FILE *out, const char *prog);

#endif
