/* liblevee: the Guard API of the Levee agent over its Unix socket, on gRPC's C core and protobuf-c.
 *
 * Each RPC has a completion queue of its own, so that any number of threads can share one client
 * (one gRPC channel, which is thread-safe) without sharing anything else. Every RPC carries a
 * deadline, and the wait for its completion has a bound past it: a stopped agent cannot hold a
 * caller longer than its timeout. */
#include "levee.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "levee/v1/guard.pb-c.h"

#define LEVEE_DEFAULT_RPC_MS 30000u
/* The agent answers a call at its deadline (TIMEOUT, or a fallback); the RPC's own deadline leaves it
 * this long to arrive. */
#define LEVEE_ANSWER_GRACE_MS 250u

struct levee_client {
    grpc_channel *channel;
    char *socket_path;
};

static int fail(levee_error *err, levee_status code, int grpc_status, const char *format, ...) {
    if (err) {
        err->code = code;
        err->grpc_status = grpc_status;
        va_list args;
        va_start(args, format);
        vsnprintf(err->message, sizeof err->message, format, args);
        va_end(args);
    }
    return (int)code;
}

static int succeed(levee_error *err) {
    if (err) {
        err->code = LEVEE_OK;
        err->grpc_status = 0;
        err->message[0] = '\0';
    }
    return LEVEE_OK;
}

static char *copy_string(const char *text) {
    const char *source = text ? text : "";
    size_t length = strlen(source);
    char *copy = malloc(length + 1);
    if (copy) memcpy(copy, source, length + 1);
    return copy;
}

/* $LEVEE_SOCKET, else the agent's built-in default (ListenConfiguration.builtIn). */
static char *default_socket_path(void) {
    const char *configured = getenv("LEVEE_SOCKET");
    if (configured && *configured) return copy_string(configured);
    char path[256];
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    if (runtime && runtime[0] == '/') {
        size_t length = strlen(runtime);
        while (length > 1 && runtime[length - 1] == '/') length--;
        int written = snprintf(path, sizeof path, "%.*s/levee/levee.sock", (int)(length == 1 ? 0 : length), runtime);
        if (written > 0 && written <= 107) return copy_string(path);
    }
    snprintf(path, sizeof path, "/tmp/levee-%u/levee.sock", (unsigned)getuid());
    return copy_string(path);
}

levee_client *levee_open(const char *socket_path, levee_error *err) {
    char *path = socket_path && *socket_path ? copy_string(socket_path) : default_socket_path();
    if (!path) {
        fail(err, LEVEE_ERR_NO_MEMORY, 0, "out of memory");
        return NULL;
    }
    if (strlen(path) > 107) {
        fail(err, LEVEE_ERR_INVALID_ARGUMENT, 0, "%s: a Unix socket path must be at most 107 bytes", path);
        free(path);
        return NULL;
    }
    levee_client *client = calloc(1, sizeof *client);
    char *target = malloc(strlen(path) + sizeof "unix:");
    if (!client || !target) {
        free(client);
        free(target);
        free(path);
        fail(err, LEVEE_ERR_NO_MEMORY, 0, "out of memory");
        return NULL;
    }
    sprintf(target, "unix:%s", path);
    grpc_init();
    /* An agent that restarts must be found again within a second, not after gRPC's default reconnect
     * backoff (up to two minutes), during which every call would fail at once. */
    grpc_arg args[3];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = 64 << 20;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
    args[1].value.integer = 100;
    /* (Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC takes it as the connect timeout, too short on a busy
     * machine. A call's own deadline bounds it anyway.) */
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
    args[2].value.integer = 1000;
    grpc_channel_args channel_args = {.num_args = 3, .args = args};
    grpc_channel_credentials *credentials = grpc_insecure_credentials_create();
    client->channel = grpc_channel_create(target, credentials, &channel_args);
    grpc_channel_credentials_release(credentials);
    free(target);
    client->socket_path = path;
    succeed(err);
    return client;
}

void levee_close(levee_client *client) {
    if (!client) return;
    grpc_channel_destroy(client->channel);
    free(client->socket_path);
    free(client);
    grpc_shutdown();
}

const char *levee_socket_path(const levee_client *client) { return client ? client->socket_path : NULL; }

/* One unary RPC: sends `request` (serialized), waits at most `deadline_ms` (plus a second's bound on
 * the completion itself), and hands back the serialized answer in `*answer` (malloc'd). */
static int unary(levee_client *client, const char *method, const uint8_t *request, size_t request_len,
                 uint32_t deadline_ms, uint8_t **answer, size_t *answer_len, levee_error *err) {
    *answer = NULL;
    *answer_len = 0;
    grpc_completion_queue *queue = grpc_completion_queue_create_for_next(NULL);
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis((int64_t)deadline_ms, GPR_TIMESPAN));
    grpc_slice method_slice = grpc_slice_from_static_string(method);
    grpc_call *call = grpc_channel_create_call(client->channel, NULL, GRPC_PROPAGATE_DEFAULTS, queue, method_slice,
                                               NULL, deadline, NULL);
    grpc_slice request_slice = grpc_slice_from_copied_buffer((const char *)request, request_len);
    grpc_byte_buffer *sent = grpc_raw_byte_buffer_create(&request_slice, 1);
    grpc_slice_unref(request_slice);

    grpc_metadata_array initial_metadata, trailing_metadata;
    grpc_metadata_array_init(&initial_metadata);
    grpc_metadata_array_init(&trailing_metadata);
    grpc_byte_buffer *received = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = sent;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_metadata;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &received;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_metadata;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;

    int result = LEVEE_OK;
    grpc_call_error started = grpc_call_start_batch(call, ops, 6, (void *)1, NULL);
    if (started != GRPC_CALL_OK) {
        result = fail(err, LEVEE_ERR_INTERNAL, 0, "gRPC refused to start the call (%d)", (int)started);
    } else {
        /* The deadline ends the RPC inside gRPC; this bound guards the wait itself. */
        gpr_timespec bound = gpr_time_add(deadline, gpr_time_from_millis(1000, GPR_TIMESPAN));
        grpc_event event = grpc_completion_queue_next(queue, bound, NULL);
        if (event.type == GRPC_QUEUE_TIMEOUT) {
            grpc_call_cancel(call, NULL);
            grpc_completion_queue_next(queue, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
            status = GRPC_STATUS_DEADLINE_EXCEEDED;
        }
        char *text = grpc_slice_to_c_string(details);
        switch (status) {
        case GRPC_STATUS_OK:
            if (!received) {
                result = fail(err, LEVEE_ERR_PROTOCOL, 0, "the agent on %s sent no answer", client->socket_path);
                break;
            }
            grpc_byte_buffer_reader reader;
            if (!grpc_byte_buffer_reader_init(&reader, received)) {
                result = fail(err, LEVEE_ERR_PROTOCOL, 0, "the agent's answer could not be read");
                break;
            }
            grpc_slice whole = grpc_byte_buffer_reader_readall(&reader);
            grpc_byte_buffer_reader_destroy(&reader);
            *answer_len = GRPC_SLICE_LENGTH(whole);
            *answer = malloc(*answer_len ? *answer_len : 1);
            if (*answer) {
                memcpy(*answer, GRPC_SLICE_START_PTR(whole), *answer_len);
            } else {
                result = fail(err, LEVEE_ERR_NO_MEMORY, 0, "out of memory");
            }
            grpc_slice_unref(whole);
            break;
        case GRPC_STATUS_UNAVAILABLE:
            result = fail(err, LEVEE_ERR_NO_AGENT, (int)status,
                          "no agent answers on %s: start one with `levee agent` (or set LEVEE_SOCKET to its "
                          "listen.socket) [%s]",
                          client->socket_path, text);
            break;
        case GRPC_STATUS_DEADLINE_EXCEEDED:
            result = fail(err, LEVEE_ERR_TIMEOUT, (int)status,
                          "the agent on %s did not answer within %u ms: is it stopped or overloaded? "
                          "(`levee status`)",
                          client->socket_path, deadline_ms);
            break;
        case GRPC_STATUS_NOT_FOUND:
            result = fail(err, LEVEE_ERR_NOT_FOUND, (int)status, "%s", text);
            break;
        case GRPC_STATUS_INVALID_ARGUMENT:
            result = fail(err, LEVEE_ERR_INVALID_ARGUMENT, (int)status, "%s", text);
            break;
        default:
            result = fail(err, LEVEE_ERR_INTERNAL, (int)status, "the agent on %s answered gRPC status %d: %s",
                          client->socket_path, (int)status, text);
            break;
        }
        gpr_free(text);
    }

    if (received) grpc_byte_buffer_destroy(received);
    grpc_byte_buffer_destroy(sent);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_metadata);
    grpc_metadata_array_destroy(&trailing_metadata);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(queue);
    while (grpc_completion_queue_next(queue, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(queue);
    return result;
}

/* Packs `message` with protobuf-c and runs `method`. */
static int call_packed(levee_client *client, const char *method, const ProtobufCMessage *message,
                       uint32_t deadline_ms, uint8_t **answer, size_t *answer_len, levee_error *err) {
    size_t length = protobuf_c_message_get_packed_size(message);
    uint8_t *buffer = malloc(length ? length : 1);
    if (!buffer) return fail(err, LEVEE_ERR_NO_MEMORY, 0, "out of memory");
    protobuf_c_message_pack(message, buffer);
    int result = unary(client, method, buffer, length, deadline_ms, answer, answer_len, err);
    free(buffer);
    return result;
}

int levee_call_http(levee_client *client, const levee_http_request *request, levee_http_response *response,
                    levee_error *err) {
    if (response) memset(response, 0, sizeof *response);
    if (!client || !request || !response) return fail(err, LEVEE_ERR_INVALID_ARGUMENT, 0, "client, request and response are required");
    if (!request->upstream || !*request->upstream) return fail(err, LEVEE_ERR_INVALID_ARGUMENT, 0, "request.upstream is required");
    if (!request->path || request->path[0] != '/') return fail(err, LEVEE_ERR_INVALID_ARGUMENT, 0, "request.path must start with \"/\"");
    if (request->header_count && !request->headers) return fail(err, LEVEE_ERR_INVALID_ARGUMENT, 0, "request.headers is NULL but header_count is not 0");

    Levee__V1__Header *header_values = NULL;
    Levee__V1__Header **header_pointers = NULL;
    if (request->header_count) {
        header_values = calloc(request->header_count, sizeof *header_values);
        header_pointers = calloc(request->header_count, sizeof *header_pointers);
        if (!header_values || !header_pointers) {
            free(header_values);
            free(header_pointers);
            return fail(err, LEVEE_ERR_NO_MEMORY, 0, "out of memory");
        }
    }
    for (size_t i = 0; i < request->header_count; i++) {
        levee__v1__header__init(&header_values[i]);
        header_values[i].name = (char *)(request->headers[i].name ? request->headers[i].name : "");
        header_values[i].value = (char *)(request->headers[i].value ? request->headers[i].value : "");
        header_pointers[i] = &header_values[i];
    }
    Levee__V1__HttpRequest http = LEVEE__V1__HTTP_REQUEST__INIT;
    http.method = (char *)(request->method && *request->method ? request->method : "GET");
    http.path = (char *)request->path;
    http.n_headers = request->header_count;
    http.headers = header_pointers;
    http.body.data = (uint8_t *)request->body;
    http.body.len = request->body ? request->body_len : 0;

    Levee__V1__CallRequest call = LEVEE__V1__CALL_REQUEST__INIT;
    call.upstream = (char *)request->upstream;
    call.request_case = LEVEE__V1__CALL_REQUEST__REQUEST_HTTP;
    call.http = &http;
    call.timeout_ms = request->timeout_ms;
    call.priority = (Levee__V1__Priority)request->priority;
    call.idempotency_key = (char *)(request->idempotency_key ? request->idempotency_key : "");
    call.cache_key = (char *)(request->cache_key ? request->cache_key : "");

    uint32_t deadline_ms = request->timeout_ms ? request->timeout_ms + LEVEE_ANSWER_GRACE_MS : LEVEE_DEFAULT_RPC_MS;
    uint8_t *answer = NULL;
    size_t answer_len = 0;
    int result = call_packed(client, "/levee.v1.Guard/Call", &call.base, deadline_ms, &answer, &answer_len, err);
    free(header_values);
    free(header_pointers);
    if (result != LEVEE_OK) return result;

    Levee__V1__CallResponse *decoded = levee__v1__call_response__unpack(NULL, answer_len, answer);
    free(answer);
    if (!decoded) return fail(err, LEVEE_ERR_PROTOCOL, 0, "the agent's CallResponse could not be decoded");
    response->outcome = (levee_outcome)decoded->outcome;
    response->fallback = (levee_fallback)decoded->fallback;
    response->attempts = decoded->attempts;
    response->elapsed_us = decoded->elapsed_us;
    response->retry_after_ms = decoded->retry_after_ms;
    response->do_not_retry = decoded->do_not_retry;
    response->endpoint = copy_string(decoded->endpoint);
    response->detail = copy_string(decoded->detail);
    bool complete = response->endpoint && response->detail;
    const Levee__V1__HttpResponse *answered =
        decoded->response_case == LEVEE__V1__CALL_RESPONSE__RESPONSE_HTTP ? decoded->http : NULL;
    size_t body_len = answered ? answered->body.len : 0;
    response->body = malloc(body_len + 1);
    complete = complete && response->body;
    if (response->body) {
        if (body_len) memcpy(response->body, answered->body.data, body_len);
        response->body[body_len] = '\0';
        response->body_len = body_len;
    }
    if (answered) {
        response->status = answered->status;
        if (answered->n_headers) {
            response->headers = calloc(answered->n_headers, sizeof *response->headers);
            complete = complete && response->headers;
            for (size_t i = 0; response->headers && i < answered->n_headers; i++) {
                response->headers[i].name = copy_string(answered->headers[i]->name);
                response->headers[i].value = copy_string(answered->headers[i]->value);
                response->header_count = i + 1;
                complete = complete && response->headers[i].name && response->headers[i].value;
            }
        }
    }
    levee__v1__call_response__free_unpacked(decoded, NULL);
    if (!complete) {
        levee_response_free(response);
        return fail(err, LEVEE_ERR_NO_MEMORY, 0, "out of memory");
    }
    return succeed(err);
}

void levee_response_free(levee_http_response *response) {
    if (!response) return;
    for (size_t i = 0; i < response->header_count; i++) {
        free((char *)response->headers[i].name);
        free((char *)response->headers[i].value);
    }
    free(response->headers);
    free(response->body);
    free(response->endpoint);
    free(response->detail);
    memset(response, 0, sizeof *response);
}

int levee_acquire(levee_client *client, const levee_acquire_request *request, levee_permit *permit,
                  levee_error *err) {
    if (permit) memset(permit, 0, sizeof *permit);
    if (!client || !request || !permit) return fail(err, LEVEE_ERR_INVALID_ARGUMENT, 0, "client, request and permit are required");
    if (!request->upstream || !*request->upstream) return fail(err, LEVEE_ERR_INVALID_ARGUMENT, 0, "request.upstream is required");
    Levee__V1__AcquireRequest acquire = LEVEE__V1__ACQUIRE_REQUEST__INIT;
    acquire.upstream = (char *)request->upstream;
    acquire.priority = (Levee__V1__Priority)request->priority;
    acquire.timeout_ms = request->timeout_ms;
    acquire.attempt = request->attempt;
    acquire.lease_ms = request->lease_ms;
    /* The agent takes the RPC's deadline as the wait's bound too: it is the request's own timeout. */
    uint32_t deadline_ms = request->timeout_ms ? request->timeout_ms + LEVEE_ANSWER_GRACE_MS : LEVEE_DEFAULT_RPC_MS;
    uint8_t *answer = NULL;
    size_t answer_len = 0;
    int result = call_packed(client, "/levee.v1.Guard/Acquire", &acquire.base, deadline_ms, &answer, &answer_len, err);
    if (result != LEVEE_OK) return result;
    Levee__V1__AcquireResponse *decoded = levee__v1__acquire_response__unpack(NULL, answer_len, answer);
    free(answer);
    if (!decoded) return fail(err, LEVEE_ERR_PROTOCOL, 0, "the agent's AcquireResponse could not be decoded");
    permit->granted = decoded->granted;
    permit->denied_by = (levee_outcome)decoded->denied_by;
    permit->deny_reason = (int)decoded->deny_reason;
    permit->backoff_ms = decoded->backoff_ms;
    permit->retry_after_ms = decoded->retry_after_ms;
    permit->lease_ms = decoded->lease_ms;
    permit->permit_id = copy_string(decoded->permit_id);
    permit->endpoint = copy_string(decoded->endpoint);
    permit->detail = copy_string(decoded->detail);
    levee__v1__acquire_response__free_unpacked(decoded, NULL);
    if (!permit->permit_id || !permit->endpoint || !permit->detail) {
        levee_permit_free(permit);
        return fail(err, LEVEE_ERR_NO_MEMORY, 0, "out of memory");
    }
    return succeed(err);
}

int levee_release(levee_client *client, const levee_permit *permit, levee_attempt_result result_kind,
                  uint64_t duration_us, levee_breaker_state *breaker, levee_error *err) {
    if (!client || !permit || !permit->permit_id || !*permit->permit_id) {
        return fail(err, LEVEE_ERR_INVALID_ARGUMENT, 0, "a granted permit is required");
    }
    Levee__V1__ReleaseRequest release = LEVEE__V1__RELEASE_REQUEST__INIT;
    release.permit_id = permit->permit_id;
    release.result = (Levee__V1__AttemptResult)result_kind;
    release.duration_us = duration_us;
    uint8_t *answer = NULL;
    size_t answer_len = 0;
    int result = call_packed(client, "/levee.v1.Guard/Release", &release.base, 5000, &answer, &answer_len, err);
    if (result != LEVEE_OK) return result;
    Levee__V1__ReleaseResponse *decoded = levee__v1__release_response__unpack(NULL, answer_len, answer);
    free(answer);
    if (!decoded) return fail(err, LEVEE_ERR_PROTOCOL, 0, "the agent's ReleaseResponse could not be decoded");
    if (breaker) *breaker = (levee_breaker_state)decoded->breaker;
    levee__v1__release_response__free_unpacked(decoded, NULL);
    return succeed(err);
}

void levee_permit_free(levee_permit *permit) {
    if (!permit) return;
    free(permit->permit_id);
    free(permit->endpoint);
    free(permit->detail);
    memset(permit, 0, sizeof *permit);
}

int levee_ping(levee_client *client, uint32_t timeout_ms, levee_error *err) {
    if (!client) return fail(err, LEVEE_ERR_INVALID_ARGUMENT, 0, "client is required");
    Levee__V1__PingRequest ping = LEVEE__V1__PING_REQUEST__INIT;
    uint8_t *answer = NULL;
    size_t answer_len = 0;
    int result = call_packed(client, "/levee.v1.Guard/Ping", &ping.base, timeout_ms ? timeout_ms : 1000, &answer,
                             &answer_len, err);
    free(answer);
    return result == LEVEE_OK ? succeed(err) : result;
}

const char *levee_outcome_name(levee_outcome outcome) {
    switch (outcome) {
    case LEVEE_OUTCOME_UNSPECIFIED: return "UNSPECIFIED";
    case LEVEE_OUTCOME_OK: return "OK";
    case LEVEE_OUTCOME_UPSTREAM_FAILURE: return "UPSTREAM_FAILURE";
    case LEVEE_OUTCOME_TIMEOUT: return "TIMEOUT";
    case LEVEE_OUTCOME_CONNECT_FAILURE: return "CONNECT_FAILURE";
    case LEVEE_OUTCOME_CIRCUIT_OPEN: return "CIRCUIT_OPEN";
    case LEVEE_OUTCOME_BULKHEAD_FULL: return "BULKHEAD_FULL";
    case LEVEE_OUTCOME_NO_HEALTHY_ENDPOINT: return "NO_HEALTHY_ENDPOINT";
    case LEVEE_OUTCOME_FAULT_INJECTED: return "FAULT_INJECTED";
    }
    return "UNKNOWN";
}
