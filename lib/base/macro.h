/* Small macros every file may use (after systemd's macro.h). */
#ifndef SHMPIPE_MACRO_H
#define SHMPIPE_MACRO_H

/* Elements of an array (not a pointer: the compiler refuses those). */
#define ARRAY_SIZE(a)                                                                              \
  (sizeof (a) / sizeof ((a)[0])                                                                    \
   + 0                                                                                             \
         * sizeof (                                                                                \
             char[1 - 2 * __builtin_types_compatible_p (__typeof__ (a), __typeof__ (&(a)[0]))]))

#endif
