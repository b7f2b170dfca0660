/* What --version prints: one line naming the release and the commit. */
#include "version.h"

/* The Makefile passes both; a build outside it still says what it is. */
#ifndef SHMPIPE_VERSION
#define SHMPIPE_VERSION "unknown"
#endif
#ifndef SHMPIPE_COMMIT
#define SHMPIPE_COMMIT "unknown"
#endif

const char sp_version[] = SHMPIPE_VERSION;
const char sp_commit[] = SHMPIPE_COMMIT;

void
sp_version_print (FILE *out, const char *prog)
{
  fprintf (out, "%s %s (commit %s)\n", prog, sp_version, sp_commit);
}
