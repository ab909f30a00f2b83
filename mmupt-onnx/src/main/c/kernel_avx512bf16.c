/* The kernel's compute routines for AVX-512 with AVX512-BF16 (VDPBF16PS): the avx512 fp32 routines plus bf16
 * products with fp32 accumulation for the three head GEMMs (compiled with matching flags by CMake). */
#define MMUPT_ISA_AVX512
#define MMUPT_BF16
#define KSUFFIX avx512bf16
#define KISA_NAME "avx512bf16"
#include "kernel_impl.h"
