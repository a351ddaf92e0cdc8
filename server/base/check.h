/* Invariant checks that stay on in every build. A failed CHECK is a bug: it logs the
 * condition with its place and aborts, so a core dump shows the state. Operating errors
 * (bad input, a full disk) are return codes, never CHECKs. */
#ifndef CCPAY_BASE_CHECK_H
#define CCPAY_BASE_CHECK_H

_Noreturn void ccpay_check_failed(const char *condition, const char *file, int line);

#define CHECK(condition)                                                                       \
  do {                                                                                         \
    if (__builtin_expect(!(condition), 0)) ccpay_check_failed(#condition, __FILE__, __LINE__); \
  } while (0)

#endif
