/*
 * tsan_rand_r.c - linked into test executables of TSan builds only.
 *
 * Criterion 2.4 (BoxFort) places its inheritable arena at 0x200000000000
 * plus rand_r() * 16 MiB, which can fall inside ThreadSanitizer's shadow
 * memory and abort before any test runs ("Could not initialize
 * inheritable arena", Criterion issue #274). Interposing rand_r keeps the
 * arena in the range TSan leaves to applications. Nothing in cleo uses
 * rand_r.
 */
#include <stdlib.h>

__attribute__((visibility("default"))) int rand_r(unsigned int *seed)
{
    return 0x360000 + (int)((*seed)++ & 0xff);
}
