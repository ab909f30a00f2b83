/* The kernel's compute routines for the generic instruction set (compiled with matching flags by CMake). */

#define KSUFFIX generic
#define KISA_NAME "generic"
#include "kernel_impl.h"
