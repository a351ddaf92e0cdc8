/* The FileDescriptorSet of every service ccpayd serves (protoc --include_imports),
 * embedded at build time for server reflection. Read-only, valid for the whole run. */
#ifndef CCPAY_API_DESCRIPTOR_SET_H
#define CCPAY_API_DESCRIPTOR_SET_H

#include <stddef.h>
#include <stdint.h>

extern const uint8_t ccpay_descriptor_set[];
extern const size_t ccpay_descriptor_set_size;

#endif
