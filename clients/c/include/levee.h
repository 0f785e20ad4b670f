/*
 * liblevee: call the Levee agent from C.
 *
 * The agent runs beside your service and makes outbound calls for it under each upstream's policy
 * (circuit breaker, bulkhead, deadline, retries under a budget, fallback). This library speaks the
 * agent's Guard API (proto/levee/v1/guard.proto) over its Unix socket, on gRPC's C core and
 * protobuf-c.
 *
 *   levee_error err;
 *   levee_client *client = levee_open(NULL, &err);          // $LEVEE_SOCKET, or the agent's default
 *   if (!client) { fprintf(stderr, "%s\n", err.message); return 1; }
 *   levee_http_request req = { .upstream = "payments", .method = "GET", .path = "/balance",
 *                              .timeout_ms = 800 };
 *   levee_http_response res;
 *   if (levee_call_http(client, &req, &res, &err) == LEVEE_OK) {
 *       if (res.outcome == LEVEE_OUTCOME_OK) fwrite(res.body, 1, res.body_len, stdout);
 *       else fprintf(stderr, "%s: %s\n", levee_outcome_name(res.outcome), res.detail);
 *       levee_response_free(&res);
 *   }
 *   levee_close(client);
 *
 * One client may be shared by any number of threads. Every call is bounded by its timeout, even when
 * the agent is gone or stopped.
 */
#ifndef LEVEE_H
#define LEVEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LEVEE_VERSION "0.1.0"

/* What the library itself reports (not the upstream's answer: see levee_outcome). */
typedef enum {
    LEVEE_OK = 0,
    LEVEE_ERR_INVALID_ARGUMENT = 1, /* a required field is missing, or the agent refused the request */
    LEVEE_ERR_NOT_FOUND = 2,        /* the agent knows no such upstream */
    LEVEE_ERR_NO_AGENT = 3,         /* nothing answers on the socket */
    LEVEE_ERR_TIMEOUT = 4,          /* no answer from the agent within the call's timeout */
    LEVEE_ERR_PROTOCOL = 5,         /* the agent's answer could not be read */
    LEVEE_ERR_NO_MEMORY = 6,
    LEVEE_ERR_INTERNAL = 7          /* any other gRPC status: see levee_error.grpc_status */
} levee_status;

typedef struct {
    levee_status code;
    int grpc_status;   /* the RPC's gRPC status code, 0 when there was no RPC */
    char message[512]; /* what happened and what to do */
} levee_error;

/* Why a call did or did not produce a real answer (guard.proto Outcome). */
typedef enum {
    LEVEE_OUTCOME_UNSPECIFIED = 0,
    LEVEE_OUTCOME_OK = 1,
    LEVEE_OUTCOME_UPSTREAM_FAILURE = 2,
    LEVEE_OUTCOME_TIMEOUT = 3,
    LEVEE_OUTCOME_CONNECT_FAILURE = 4,
    LEVEE_OUTCOME_CIRCUIT_OPEN = 5,
    LEVEE_OUTCOME_BULKHEAD_FULL = 6,
    LEVEE_OUTCOME_NO_HEALTHY_ENDPOINT = 7,
    LEVEE_OUTCOME_FAULT_INJECTED = 8
} levee_outcome;

typedef enum { LEVEE_FALLBACK_NONE = 0, LEVEE_FALLBACK_STATIC = 1, LEVEE_FALLBACK_STALE = 2 } levee_fallback;

typedef enum { LEVEE_PRIORITY_NORMAL = 0, LEVEE_PRIORITY_CRITICAL = 1, LEVEE_PRIORITY_SHEDDABLE = 2 } levee_priority;

typedef enum {
    LEVEE_RESULT_SUCCESS = 0,
    LEVEE_RESULT_FAILURE = 1,
    LEVEE_RESULT_TIMEOUT = 2,
    LEVEE_RESULT_IGNORED = 3 /* says nothing about the upstream: not recorded */
} levee_attempt_result;

typedef enum {
    LEVEE_BREAKER_CLOSED = 0,
    LEVEE_BREAKER_OPEN = 1,
    LEVEE_BREAKER_HALF_OPEN = 2,
    LEVEE_BREAKER_FORCED_OPEN = 3,
    LEVEE_BREAKER_FORCED_CLOSED = 4
} levee_breaker_state;

typedef struct {
    const char *name;
    const char *value;
} levee_header;

typedef struct {
    const char *upstream; /* required: the upstream's name in the agent's configuration */
    const char *method;   /* NULL or "": GET */
    const char *path;     /* required: path and query, starting with "/" */
    const levee_header *headers;
    size_t header_count;
    const void *body;
    size_t body_len;
    uint32_t timeout_ms;         /* 0: the upstream's timeouts.total (the RPC waits at most 30 s) */
    levee_priority priority;
    const char *idempotency_key; /* makes a POST safe to retry */
    const char *cache_key;       /* the stale-fallback key; NULL: "METHOD path" for GET and HEAD */
} levee_http_request;

/* Owned by the caller after a successful levee_call_http: free with levee_response_free. */
typedef struct {
    levee_outcome outcome;
    levee_fallback fallback; /* whether body is a fallback rather than the upstream's answer */
    unsigned status;         /* the HTTP status; 0 when nothing answered */
    levee_header *headers;
    size_t header_count;
    unsigned char *body; /* NUL-terminated for convenience; body_len excludes the NUL */
    size_t body_len;
    uint32_t attempts;
    char *endpoint; /* host:port of the last attempt, "" when none */
    uint64_t elapsed_us;
    uint32_t retry_after_ms; /* with LEVEE_OUTCOME_CIRCUIT_OPEN: when a probe may pass */
    char *detail;            /* what happened, for a human */
    bool do_not_retry;       /* failed after the agent retried as far as its policy allows: an app that
                                fails its own caller because of it passes on x-levee-retry-pushback-ms: -1 */
} levee_http_response;

typedef struct {
    const char *upstream;
    levee_priority priority;
    uint32_t timeout_ms; /* how long to wait for a slot; 0: the upstream's timeouts.total */
    uint32_t attempt;    /* 0 for a first attempt; n > 0 asks to make retry n */
    uint32_t lease_ms;   /* 0: the upstream's timeouts.attempt */
} levee_acquire_request;

/* Free with levee_permit_free. */
typedef struct {
    bool granted;
    char *permit_id;
    levee_outcome denied_by;
    int deny_reason; /* guard.proto DenyReason */
    uint32_t backoff_ms;
    char *endpoint;
    uint32_t retry_after_ms;
    uint32_t lease_ms;
    char *detail;
} levee_permit;

typedef struct levee_client levee_client;

/* Connects to the agent's Guard socket: socket_path, or $LEVEE_SOCKET, or the agent's default
 * ($XDG_RUNTIME_DIR/levee/levee.sock, else /tmp/levee-$UID/levee.sock). The connection is made
 * lazily: a missing agent shows at the first call (levee_ping checks at once). NULL on error. */
levee_client *levee_open(const char *socket_path, levee_error *err);
void levee_close(levee_client *client);
/* The socket the client talks to. */
const char *levee_socket_path(const levee_client *client);

int levee_call_http(levee_client *client, const levee_http_request *request, levee_http_response *response,
                    levee_error *err);
void levee_response_free(levee_http_response *response);

/* A permit for a call the app makes itself: same breaker, bulkhead and budget as levee_call_http. */
int levee_acquire(levee_client *client, const levee_acquire_request *request, levee_permit *permit,
                  levee_error *err);
/* Reports how the permitted attempt ended and frees its slot; breaker (may be NULL) gets the state. */
int levee_release(levee_client *client, const levee_permit *permit, levee_attempt_result result,
                  uint64_t duration_us, levee_breaker_state *breaker, levee_error *err);
void levee_permit_free(levee_permit *permit);

/* Checks that the agent answers, within timeout_ms (0: 1 s). */
int levee_ping(levee_client *client, uint32_t timeout_ms, levee_error *err);

/* "OK", "UPSTREAM_FAILURE", … ; "UNKNOWN" for any other value. */
const char *levee_outcome_name(levee_outcome outcome);

#ifdef __cplusplus
}
#endif

#endif
