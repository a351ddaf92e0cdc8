#include "check.h"

#include <stdio.h>
#include <stdlib.h>

void ccpay_check_failed(const char *condition, const char *file, int line) {
  fprintf(stderr, "level=fatal event=invariant_violated check=\"%s\" at=%s:%d\n", condition, file,
          line);
  fflush(stderr);
  abort();
}
