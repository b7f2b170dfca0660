/* One version for every binary; `make VERSION=...` overrides it. */
#ifndef SHMPIPE_VERSION_H
#define SHMPIPE_VERSION_H

#ifndef SHMPIPE_VERSION
#define SHMPIPE_VERSION "0.1.0"
#endif

#endif
