// gRPC's C core (libgrpc, Debian libgrpc-dev), as the agent's Guard server uses it, and the helpers
// Swift needs: the slice accessors the headers define as macros, and deadline arithmetic.
#ifndef LEVEE_CGRPCCORE_SHIM_H
#define LEVEE_CGRPCCORE_SHIM_H

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

static inline const uint8_t *levee_slice_start(grpc_slice slice) { return GRPC_SLICE_START_PTR(slice); }
static inline size_t levee_slice_length(grpc_slice slice) { return GRPC_SLICE_LENGTH(slice); }

// The nanoseconds from now until `deadline` (negative when it has passed), or INT64_MAX for none. In C
// because a Swift whole-module build that reads `tv_sec` of a gpr_timespec then confuses Glibc's
// `struct stat` (whose times are timespecs) with another module's copy.
static inline int64_t levee_nanoseconds_until(gpr_timespec deadline) {
    gpr_timespec monotonic = gpr_convert_clock_type(deadline, GPR_CLOCK_MONOTONIC);
    if (monotonic.tv_sec >= INT64_MAX / 2) return INT64_MAX;
    gpr_timespec left = gpr_time_sub(monotonic, gpr_now(GPR_CLOCK_MONOTONIC));
    return left.tv_sec * 1000000000 + left.tv_nsec;
}

#endif
