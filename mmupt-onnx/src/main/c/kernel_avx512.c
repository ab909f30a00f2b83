/* The kernel's compute routines for the avx512 instruction set (compiled with matching flags by CMake). */
#define MMUPT_ISA_AVX512
#define KSUFFIX avx512
#define KISA_NAME "avx512"
#include "kernel_impl.h"
