# Cross-compiles the kernel for linux-aarch64 with Debian's gcc-aarch64-linux-gnu; the C tests run under
# qemu-aarch64 (Debian's qemu-user) with the cross sysroot as its library root.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
find_program(MMUPT_QEMU_AARCH64 qemu-aarch64)
if(MMUPT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MMUPT_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
endif()
