/* Time sources. Wall-clock time stamps records; the monotonic clock measures durations
 * and deadlines, immune to clock steps. */
#ifndef CCPAY_BASE_CLOCK_H
#define CCPAY_BASE_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch, UTC. */
int64_t clock_wall_ms(void);

/* Microseconds from an arbitrary fixed point; only differences mean anything. */
int64_t clock_mono_us(void);

#endif
