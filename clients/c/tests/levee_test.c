/* liblevee against a real agent and a real upstream (clients/testing/with-agent.sh starts both):
 *
 *   levee_test          reads LEVEE_SOCKET (the agent) and LEVEE_TEST_DIR (a scratch folder)
 *
 * Prints one line per test and closes with "N passed, M failed"; exits 1 when any failed. */
#include <levee.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int failures;
static int current_failed;

#define CHECK(condition, ...)                                                                                \
    do {                                                                                                     \
        if (!(condition)) {                                                                                  \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #condition);                 \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
            current_failed = 1;                                                                              \
        }                                                                                                    \
    } while (0)

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
}

static const char *socket_path;
static const char *scratch;

static levee_client *open_client(void) {
    levee_error err;
    levee_client *client = levee_open(socket_path, &err);
    if (!client) fprintf(stderr, "  levee_open: %s\n", err.message);
    return client;
}

static void plain_call(void) {
    levee_client *client = open_client();
    CHECK(client, "no client");
    if (!client) return;
    levee_error err;
    CHECK(levee_ping(client, 2000, &err) == LEVEE_OK, "ping: %s", err.message);
    levee_header headers[] = {{"x-client", "c"}};
    levee_http_request request = {.upstream = "web", .method = "POST", .path = "/echo", .headers = headers,
                                  .header_count = 1, .body = "from c", .body_len = 6, .timeout_ms = 2000,
                                  .idempotency_key = "c-1"};
    levee_http_response response;
    int status = levee_call_http(client, &request, &response, &err);
    CHECK(status == LEVEE_OK, "call: %s", err.message);
    if (status == LEVEE_OK) {
        CHECK(response.outcome == LEVEE_OUTCOME_OK, "outcome %s", levee_outcome_name(response.outcome));
        CHECK(response.status == 200, "status %u", response.status);
        CHECK(response.body_len == 6 && memcmp(response.body, "from c", 6) == 0, "body %s", (char *)response.body);
        CHECK(response.attempts == 1, "attempts %u", response.attempts);
        CHECK(response.fallback == LEVEE_FALLBACK_NONE, "fallback %d", response.fallback);
        CHECK(strlen(response.endpoint) > 0, "no endpoint");
        int method_seen = 0, client_seen = 0;
        for (size_t i = 0; i < response.header_count; i++) {
            if (strcasecmp(response.headers[i].name, "x-method") == 0) method_seen = !strcmp(response.headers[i].value, "POST");
            if (strcasecmp(response.headers[i].name, "x-client") == 0) client_seen = !strcmp(response.headers[i].value, "c");
        }
        CHECK(method_seen && client_seen, "the upstream did not see the method and header");
        levee_response_free(&response);
    }
    levee_http_request unknown = {.upstream = "no-such-upstream", .path = "/", .timeout_ms = 1000};
    status = levee_call_http(client, &unknown, &response, &err);
    CHECK(status == LEVEE_ERR_NOT_FOUND, "unknown upstream gave %d: %s", status, err.message);
    CHECK(strstr(err.message, "no-such-upstream") != NULL, "message: %s", err.message);
    levee_close(client);
}

static void retried_503(void) {
    levee_client *client = open_client();
    if (!client) { current_failed = 1; return; }
    char path[64];
    snprintf(path, sizeof path, "/flaky/c-%d", (int)getpid());
    levee_http_request request = {.upstream = "web", .path = path, .timeout_ms = 3000};
    levee_http_response response;
    levee_error err;
    int status = levee_call_http(client, &request, &response, &err);
    CHECK(status == LEVEE_OK, "call: %s", err.message);
    if (status == LEVEE_OK) {
        CHECK(response.outcome == LEVEE_OUTCOME_OK, "outcome %s (%s)", levee_outcome_name(response.outcome), response.detail);
        CHECK(response.status == 200, "status %u", response.status);
        CHECK(response.attempts == 2, "attempts %u", response.attempts);
        CHECK(strcmp((char *)response.body, "recovered") == 0, "body %s", (char *)response.body);
        levee_response_free(&response);
    }
    levee_close(client);
}

static void open_breaker(void) {
    levee_client *client = open_client();
    if (!client) { current_failed = 1; return; }
    levee_http_request request = {.upstream = "sick", .path = "/fail", .timeout_ms = 2000};
    levee_http_response response;
    levee_error err;
    int opened = 0, failed = 0;
    /* The breaker trips after 4 calls at 50 % failure; it may already be open from an earlier run. */
    for (int i = 0; i < 20 && !opened; i++) {
        if (levee_call_http(client, &request, &response, &err) != LEVEE_OK) {
            CHECK(0, "call: %s", err.message);
            break;
        }
        if (response.outcome == LEVEE_OUTCOME_UPSTREAM_FAILURE) {
            failed++;
            CHECK(response.status == 503, "status %u", response.status);
        } else if (response.outcome == LEVEE_OUTCOME_CIRCUIT_OPEN) {
            opened = 1;
            CHECK(response.retry_after_ms > 0 && response.retry_after_ms <= 60000, "retry_after_ms %u",
                  response.retry_after_ms);
            CHECK(response.attempts == 0, "attempts %u", response.attempts);
            CHECK(strlen(response.detail) > 0, "no detail");
        } else {
            CHECK(0, "unexpected outcome %s", levee_outcome_name(response.outcome));
        }
        levee_response_free(&response);
    }
    CHECK(opened, "the breaker never opened (%d failures)", failed);
    CHECK(failed <= 4, "%d failures went through before it opened", failed);
    levee_close(client);
}

static void acquire_shares_the_bulkhead(void) {
    levee_client *client = open_client();
    if (!client) { current_failed = 1; return; }
    levee_error err;
    levee_acquire_request acquire = {.upstream = "db", .timeout_ms = 2000, .lease_ms = 10000};
    levee_permit permit;
    int status = levee_acquire(client, &acquire, &permit, &err);
    CHECK(status == LEVEE_OK, "acquire: %s", err.message);
    CHECK(permit.granted, "not granted: %s", permit.detail ? permit.detail : "");
    CHECK(permit.permit_id && *permit.permit_id, "no permit id");
    /* The one slot is taken by the permit: a call that may not queue is turned away. */
    levee_http_request request = {.upstream = "db", .path = "/ok", .timeout_ms = 2000,
                                  .priority = LEVEE_PRIORITY_SHEDDABLE};
    levee_http_response response;
    status = levee_call_http(client, &request, &response, &err);
    CHECK(status == LEVEE_OK, "call: %s", err.message);
    if (status == LEVEE_OK) {
        CHECK(response.outcome == LEVEE_OUTCOME_BULKHEAD_FULL, "outcome %s", levee_outcome_name(response.outcome));
        levee_response_free(&response);
    }
    levee_breaker_state breaker = LEVEE_BREAKER_OPEN;
    status = levee_release(client, &permit, LEVEE_RESULT_SUCCESS, 1500, &breaker, &err);
    CHECK(status == LEVEE_OK, "release: %s", err.message);
    CHECK(breaker == LEVEE_BREAKER_CLOSED, "breaker %d", breaker);
    levee_permit_free(&permit);
    status = levee_call_http(client, &request, &response, &err);
    CHECK(status == LEVEE_OK, "call: %s", err.message);
    if (status == LEVEE_OK) {
        CHECK(response.outcome == LEVEE_OUTCOME_OK, "after release: %s", levee_outcome_name(response.outcome));
        levee_response_free(&response);
    }
    levee_close(client);
}

static void no_agent(void) {
    char path[200];
    snprintf(path, sizeof path, "%s/nobody.sock", scratch);
    levee_error err;
    levee_client *client = levee_open(path, &err);
    CHECK(client, "open: %s", err.message);
    if (!client) return;
    levee_http_request request = {.upstream = "web", .path = "/ok", .timeout_ms = 1500};
    levee_http_response response;
    double started = now_ms();
    int status = levee_call_http(client, &request, &response, &err);
    double elapsed = now_ms() - started;
    CHECK(status == LEVEE_ERR_NO_AGENT, "status %d: %s", status, err.message);
    CHECK(strstr(err.message, path) && strstr(err.message, "levee agent"), "message: %s", err.message);
    CHECK(elapsed < 1500 + 250 + 1000, "took %.0f ms", elapsed);
    CHECK(levee_ping(client, 500, &err) == LEVEE_ERR_NO_AGENT, "ping: %s", err.message);
    levee_close(client);

    /* A socket that accepts and never answers (a stopped agent): the call ends at its timeout. */
    snprintf(path, sizeof path, "%s/silent.sock", scratch);
    int silent = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    memcpy(address.sun_path, path, strlen(path) < sizeof address.sun_path ? strlen(path) + 1 : 0);
    CHECK(bind(silent, (struct sockaddr *)&address, sizeof address) == 0 && listen(silent, 8) == 0, "bind: %s",
          strerror(errno));
    client = levee_open(path, &err);
    if (client) {
        request.timeout_ms = 700;
        started = now_ms();
        status = levee_call_http(client, &request, &response, &err);
        elapsed = now_ms() - started;
        /* gRPC gives up on the handshake (UNAVAILABLE) or the deadline passes first: either way, in time. */
        CHECK(status == LEVEE_ERR_TIMEOUT || status == LEVEE_ERR_NO_AGENT, "status %d: %s", status, err.message);
        CHECK(elapsed < 700 + 250 + 1000, "took %.0f ms", elapsed);
        levee_close(client);
    }
    close(silent);
    unlink(path);
}

enum { THREADS = 8, CALLS_PER_THREAD = 25 };
static int thread_ok[THREADS];

static void *thread_calls(void *argument) {
    levee_client *client = ((void **)argument)[0];
    int index = (int)(intptr_t)((void **)argument)[1];
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        levee_http_request request = {.upstream = "web", .path = "/ok", .timeout_ms = 5000};
        levee_http_response response;
        levee_error err;
        if (levee_call_http(client, &request, &response, &err) != LEVEE_OK) continue;
        if (response.outcome == LEVEE_OUTCOME_OK && strcmp((char *)response.body, "hello from upstream") == 0) {
            thread_ok[index]++;
        }
        levee_response_free(&response);
    }
    return NULL;
}

static void threads_share_a_client(void) {
    levee_client *client = open_client();
    if (!client) { current_failed = 1; return; }
    pthread_t threads[THREADS];
    void *arguments[THREADS][2];
    for (int i = 0; i < THREADS; i++) {
        arguments[i][0] = client;
        arguments[i][1] = (void *)(intptr_t)i;
        pthread_create(&threads[i], NULL, thread_calls, arguments[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < THREADS; i++) CHECK(thread_ok[i] == CALLS_PER_THREAD, "thread %d: %d of %d OK", i, thread_ok[i], CALLS_PER_THREAD);
    levee_close(client);
}

static void names(void) {
    CHECK(strcmp(levee_outcome_name(LEVEE_OUTCOME_CIRCUIT_OPEN), "CIRCUIT_OPEN") == 0, "name");
    CHECK(strcmp(levee_outcome_name((levee_outcome)99), "UNKNOWN") == 0, "unknown name");
    levee_error err;
    CHECK(levee_call_http(NULL, NULL, NULL, &err) == LEVEE_ERR_INVALID_ARGUMENT, "NULL arguments");
}

int main(void) {
    socket_path = getenv("LEVEE_SOCKET");
    scratch = getenv("LEVEE_TEST_DIR");
    if (!socket_path || !scratch) {
        fputs("levee_test: run me through clients/testing/with-agent.sh (LEVEE_SOCKET, LEVEE_TEST_DIR)\n", stderr);
        return 2;
    }
    struct {
        const char *name;
        void (*run)(void);
    } tests[] = {
        {"a plain call, its headers and body; an unknown upstream is NOT_FOUND", plain_call},
        {"a 503 is retried, then answered", retried_503},
        {"an open breaker answers CIRCUIT_OPEN with retry_after_ms", open_breaker},
        {"a permit shares the bulkhead with calls", acquire_shares_the_bulkhead},
        {"no agent, or a silent one: the error within the timeout", no_agent},
        {"8 threads share one client", threads_share_a_client},
        {"outcome names and argument checks", names},
    };
    int passed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        current_failed = 0;
        tests[i].run();
        printf("%s %s\n", current_failed ? "FAIL" : "ok  ", tests[i].name);
        fflush(stdout);
        if (current_failed) failures++; else passed++;
    }
    printf("c client: %d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
