/* libFuzzer target: ccpayd's configuration file (docs/ccpayd.example.ini), the one file
 * ccpayd reads at start. The input is written to a file that config_load reads through
 * --config, as ccpayd does; every setting's check runs on what the file says. A bad file
 * must end in a message, never in a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/check.h"
#include "ccpayd/config.h"

static char path[] = "/tmp/ccpay-fuzz-config-XXXXXX";
static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fd < 0) {
    fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path); /* read through /proc/self/fd: nothing is left behind */
  }
  CHECK(ftruncate(fd, 0) == 0);
  CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
  char file[64];
  snprintf(file, sizeof file, "/proc/self/fd/%d", fd);
  char *argv[] = {"ccpayd", "--config", file, NULL};
  static ccpayd_config config;
  memset(&config, 0, sizeof config);
  char message[512];
  if (config_load(3, argv, &config, message, sizeof message)) {
    (void)config_check_transport(&config, message, sizeof message);
  }
  return 0;
}
