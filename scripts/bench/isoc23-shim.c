/*
 * glibc < 2.38 lacks the C23 strtol family that the gigastt PyPI wheel (built against a
 * newer glibc than its manylinux_2_28 tag promises) imports. The C23 variants differ only
 * in also accepting a "0b" prefix for base 0/2, which number parsing in that library does
 * not rely on. Built and LD_PRELOADed by scripts/bench.ts for the peer run only.
 */
#include <stdlib.h>
long __isoc23_strtol(const char *s, char **end, int base) { return strtol(s, end, base); }
long long __isoc23_strtoll(const char *s, char **end, int base) { return strtoll(s, end, base); }
unsigned long long __isoc23_strtoull(const char *s, char **end, int base) { return strtoull(s, end, base); }
unsigned long __isoc23_strtoul(const char *s, char **end, int base) { return strtoul(s, end, base); }
