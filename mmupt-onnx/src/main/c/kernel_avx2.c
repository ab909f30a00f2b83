/* The kernel's compute routines for the avx2 instruction set (compiled with matching flags by CMake). */
#define MMUPT_ISA_AVX2
#define KSUFFIX avx2
#define KISA_NAME "avx2"
#include "kernel_impl.h"
