/* The kernel's compute routines for the neon instruction set (AArch64; compiled by CMake on that target). */
#define MMUPT_ISA_NEON
#define KSUFFIX neon
#define KISA_NAME "neon"
#include "kernel_impl.h"
