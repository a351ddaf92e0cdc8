/* An LD_PRELOAD shim for tests: fsync and fdatasync fail with EIO while the file named by
 * CCPAY_IO_FAULT_FILE exists, and behave normally otherwise. A test preloads it into
 * ccpayd and creates or removes the file to start and stop the fault (nothing is lost on
 * the way: the shim fails the sync, it does not drop data). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

static bool io_fault_on(void) {
  const char *file = getenv("CCPAY_IO_FAULT_FILE");
  return file != NULL && access(file, F_OK) == 0;
}

int fdatasync(int fd) {
  if (io_fault_on()) {
    errno = EIO;
    return -1;
  }
  int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  return real != NULL ? real(fd) : (errno = ENOSYS, -1);
}

int fsync(int fd) {
  if (io_fault_on()) {
    errno = EIO;
    return -1;
  }
  int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  return real != NULL ? real(fd) : (errno = ENOSYS, -1);
}
