/* levee-get: a tiny curl through the Levee agent.
 *
 *   levee-get [-s SOCKET] [-X METHOD] [-d BODY] [-H 'Name: value']… [-t TIMEOUT_MS] [-k IDEMPOTENCY_KEY]
 *             UPSTREAM PATH
 *
 * The body goes to standard output, the outcome line to standard error; the exit status is 0 when the
 * outcome is OK (a fallback answer included: 3), 1 for any other outcome, 2 when the agent could not
 * be asked. */
#include <levee.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_HEADERS 32

static void usage(void) {
    fputs("usage: levee-get [-s SOCKET] [-X METHOD] [-d BODY] [-H 'Name: value'] [-t TIMEOUT_MS] "
          "[-k IDEMPOTENCY_KEY] UPSTREAM PATH\n",
          stderr);
}

int main(int argc, char **argv) {
    const char *socket = NULL;
    levee_http_request request = {.method = "GET", .timeout_ms = 0};
    levee_header headers[MAX_HEADERS];
    char *header_lines[MAX_HEADERS];
    size_t header_count = 0;
    int option;
    while ((option = getopt(argc, argv, "s:X:d:H:t:k:h")) != -1) {
        switch (option) {
        case 's': socket = optarg; break;
        case 'X': request.method = optarg; break;
        case 'd':
            request.body = optarg;
            request.body_len = strlen(optarg);
            break;
        case 'H': {
            char *colon = strchr(optarg, ':');
            if (!colon || header_count == MAX_HEADERS) {
                fprintf(stderr, "levee-get: -H takes 'Name: value' (at most %d)\n", MAX_HEADERS);
                return 2;
            }
            char *line = strdup(optarg);
            if (!line) return 2;
            line[colon - optarg] = '\0';
            const char *value = line + (colon - optarg) + 1;
            while (*value == ' ') value++;
            header_lines[header_count] = line;
            headers[header_count].name = line;
            headers[header_count].value = value;
            header_count++;
            break;
        }
        case 't': request.timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'k': request.idempotency_key = optarg; break;
        default: usage(); return 2;
        }
    }
    if (argc - optind != 2) {
        usage();
        return 2;
    }
    request.upstream = argv[optind];
    request.path = argv[optind + 1];
    request.headers = headers;
    request.header_count = header_count;

    levee_error err;
    levee_client *client = levee_open(socket, &err);
    if (!client) {
        fprintf(stderr, "levee-get: %s\n", err.message);
        return 2;
    }
    levee_http_response response;
    int status = levee_call_http(client, &request, &response, &err);
    for (size_t i = 0; i < header_count; i++) free(header_lines[i]);
    if (status != LEVEE_OK) {
        fprintf(stderr, "levee-get: %s\n", err.message);
        levee_close(client);
        return 2;
    }
    fwrite(response.body, 1, response.body_len, stdout);
    fprintf(stderr, "%s %u attempts=%u endpoint=%s%s%s%s\n", levee_outcome_name(response.outcome), response.status,
            response.attempts, response.endpoint,
            response.fallback == LEVEE_FALLBACK_STATIC  ? " fallback=static"
            : response.fallback == LEVEE_FALLBACK_STALE ? " fallback=stale"
                                                        : "",
            *response.detail ? " — " : "", response.detail);
    int exit_status = response.outcome != LEVEE_OUTCOME_OK ? 1 : response.fallback != LEVEE_FALLBACK_NONE ? 3 : 0;
    levee_response_free(&response);
    levee_close(client);
    return exit_status;
}
