/*
 * The gigastt PyPI wheel (tagged manylinux_2_28) imports glibc 2.38's C23 strtol family.
 * On an older glibc, test_gigastt_rs.py compiles this file and loads it RTLD_GLOBAL before
 * importing the wheel. The C23 variants differ only in also accepting a "0b" prefix.
 */
#include <stdlib.h>
long __isoc23_strtol(const char *s, char **end, int base) { return strtol(s, end, base); }
long long __isoc23_strtoll(const char *s, char **end, int base) { return strtoll(s, end, base); }
unsigned long __isoc23_strtoul(const char *s, char **end, int base) { return strtoul(s, end, base); }
unsigned long long __isoc23_strtoull(const char *s, char **end, int base) { return strtoull(s, end, base); }
