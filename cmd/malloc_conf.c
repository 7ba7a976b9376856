/*
 * malloc_conf.c - jemalloc's options, compiled into every cleo binary
 * that links jemalloc (cleo_executable() in the top CMakeLists.txt).
 *
 * Two arenas: the project's machines have two cores, and the default (four
 * per core) lets each of the blocking pools' ~70 threads keep its own
 * freed 1-5 MiB stream blocks, which put a 1 GiB stream's RSS at ~160 MiB
 * instead of ~80. MALLOC_CONF in the environment overrides this (e.g.
 * MALLOC_CONF=narenas:16 on a bigger machine).
 */
__attribute__((visibility("default"))) const char *malloc_conf = "narenas:2";
