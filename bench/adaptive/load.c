/*
 * bench/adaptive.py's upstream and load generator, in C: one epoll loop each, so that on a machine of
 * 2 cores the harness takes little of the CPU the agent under test needs (the asyncio versions they
 * replace took about a core at 256 clients, and set the top steps' tail themselves).
 *
 *   load upstream PORT BASE_US SLOPE_US KNEE
 *       An HTTP/1.1 keep-alive server on 127.0.0.1:PORT. Each request is answered "200 ok" after
 *       BASE_US + SLOPE_US x max(0, in_flight - KNEE) microseconds, in_flight counted when it arrives
 *       (itself included): an upstream whose throughput peaks at KNEE requests in flight and falls
 *       beyond. One request at a time per connection.
 *
 *   load clients PORT HOST SECONDS WARMUP BACKOFF_BASE_US BACKOFF_MAX_US N1 [N2 ...]
 *       Closed-loop clients to 127.0.0.1:PORT with `Host: HOST`, N1 of them for SECONDS, then N2, ...;
 *       each step's clients are fresh connections. A client sends its next request when the previous
 *       answer is in; after a 503 it waits first: BACKOFF_BASE_US after the first 503 in a row,
 *       doubling with each further one up to BACKOFF_MAX_US, equal jitter (half the wait fixed, half
 *       random), and from BACKOFF_BASE_US again after a 200. At a step's end no new request starts; the
 *       step ends when those in flight are answered. Prints one JSON line per step, over the step after
 *       its first WARMUP seconds: clients, goodput (200s per second), p50_ms and p99_ms of the 200s
 *       as the client saw them, rejected_per_s (503s), errors (anything else, connections lost).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    perror(what);
    exit(1);
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---------------------------------------------------------------- a min-heap of timers */

typedef struct {
    int64_t at;
    int64_t id;
} timer;

typedef struct {
    timer *items;
    int count, capacity;
} heap;

static void heap_push(heap *h, int64_t at, int64_t id) {
    if (h->count == h->capacity) {
        h->capacity = h->capacity ? 2 * h->capacity : 1024;
        h->items = realloc(h->items, sizeof(timer) * (size_t)h->capacity);
        if (!h->items) die("realloc");
    }
    int i = h->count++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (h->items[parent].at <= at) break;
        h->items[i] = h->items[parent];
        i = parent;
    }
    h->items[i] = (timer){at, id};
}

static timer heap_pop(heap *h) {
    timer top = h->items[0];
    timer last = h->items[--h->count];
    int i = 0;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= h->count) break;
        if (child + 1 < h->count && h->items[child + 1].at < h->items[child].at) child++;
        if (h->items[child].at >= last.at) break;
        h->items[i] = h->items[child];
        i = child;
    }
    if (h->count > 0) h->items[i] = last;
    return top;
}

/* The timerfd fires at the earliest timer (absolute, CLOCK_MONOTONIC), or never. */
static void arm(int tfd, const heap *h) {
    struct itimerspec spec = {0};
    if (h->count > 0) {
        int64_t at = h->items[0].at;
        if (at <= 0) at = 1;
        spec.it_value.tv_sec = at / 1000000000;
        spec.it_value.tv_nsec = at % 1000000000;
    }
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &spec, NULL) < 0) die("timerfd_settime");
}

static void nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

#define MAX_FDS 65536
#define TIMER_TAG ((uint64_t)1 << 40)

/* epoll_wait, again after a signal. */
static int wait_events(int ep, struct epoll_event *events, int max, int timeout_ms) {
    for (;;) {
        int n = epoll_wait(ep, events, max, timeout_ms);
        if (n >= 0) return n;
        if (errno != EINTR) die("epoll_wait");
    }
}

/* Reads the timerfd's expirations (so it stops being readable) and returns the time now. */
static int64_t timers_fired(int tfd) {
    uint64_t expirations;
    (void)!read(tfd, &expirations, sizeof expirations);
    return now_ns();
}

/* ---------------------------------------------------------------- the upstream */

typedef struct {
    char buf[8192];
    int len;
} upstream_conn;

static int upstream(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: load upstream PORT BASE_US SLOPE_US KNEE\n");
        return 2;
    }
    int port = atoi(argv[2]);
    int64_t base = atoll(argv[3]) * 1000, slope = atoll(argv[4]) * 1000;
    int knee = atoi(argv[5]);
    static upstream_conn *conns[MAX_FDS];
    /* A timer's id is fd << 20 | the connection's generation, so an answer due on a closed and
       reused descriptor is dropped. */
    static unsigned generation[MAX_FDS];
    heap timers = {0};
    int in_flight = 0;

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = loopback(port);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, 1024) < 0) die("listen");
    int ep = epoll_create1(0), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    if (ep < 0 || tfd < 0) die("epoll/timerfd");
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.u64 = TIMER_TAG;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    static const char answer[] = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";
    struct epoll_event events[256];
    for (;;) {
        int n = wait_events(ep, events, 256, -1);
        for (int i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64;
            if (tag == TIMER_TAG) {
                int64_t now = timers_fired(tfd);
                while (timers.count > 0 && timers.items[0].at <= now) {
                    timer t = heap_pop(&timers);
                    in_flight--;
                    int fd = (int)(t.id >> 20);
                    if (conns[fd] && (generation[fd] & 0xFFFFF) == (unsigned)(t.id & 0xFFFFF)) {
                        (void)!write(fd, answer, sizeof answer - 1);
                    }
                }
                arm(tfd, &timers);
            } else if ((int)tag == lfd) {
                for (;;) {
                    int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                    if (cfd < 0) break;
                    if (cfd >= MAX_FDS) {
                        close(cfd);
                        continue;
                    }
                    nodelay(cfd);
                    conns[cfd] = calloc(1, sizeof(upstream_conn));
                    generation[cfd]++;
                    struct epoll_event cev = {.events = EPOLLIN, .data.u64 = (uint64_t)cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
                }
            } else {
                int fd = (int)tag;
                upstream_conn *c = conns[fd];
                if (!c) continue;
                ssize_t got = read(fd, c->buf + c->len, sizeof c->buf - (size_t)c->len);
                if (got <= 0) {
                    if (got < 0 && errno == EAGAIN) continue;
                    close(fd);
                    free(c);
                    conns[fd] = NULL;
                    continue;
                }
                c->len += (int)got;
                char *end;
                while ((end = memmem(c->buf, (size_t)c->len, "\r\n\r\n", 4)) != NULL) {
                    int used = (int)(end + 4 - c->buf);
                    memmove(c->buf, c->buf + used, (size_t)(c->len - used));
                    c->len -= used;
                    in_flight++;
                    int64_t delay = base + slope * (in_flight > knee ? in_flight - knee : 0);
                    heap_push(&timers, now_ns() + delay, (int64_t)fd << 20 | (generation[fd] & 0xFFFFF));
                }
                if (c->len == (int)sizeof c->buf) c->len = 0; /* a head this long is not ours */
                arm(tfd, &timers);
            }
        }
    }
}

/* ---------------------------------------------------------------- the clients */

enum { IDLE, CONNECTING, AWAITING, SLEEPING, DONE };

typedef struct {
    int fd;
    int state;
    int refused_in_a_row;
    int64_t sent_at;
    char buf[4096];
    int len;
} client;

typedef struct {
    int64_t *values;
    int count, capacity;
} samples;

static void sample_add(samples *s, int64_t v) {
    if (s->count == s->capacity) {
        s->capacity = s->capacity ? 2 * s->capacity : 4096;
        s->values = realloc(s->values, sizeof(int64_t) * (size_t)s->capacity);
        if (!s->values) die("realloc");
    }
    s->values[s->count++] = v;
}

static int compare(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct {
    int ep;
    int port;
    const char *request;
    size_t request_len;
    int64_t stop_at, count_from, backoff_base, backoff_max;
    heap timers;
    samples ok;
    long rejected, errors, in_flight_or_waiting;
} run;

static void client_close(run *r, client *c) {
    if (c->fd >= 0) {
        epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    c->len = 0;
}

static void client_done(run *r, client *c) {
    client_close(r, c);
    c->state = DONE;
    r->in_flight_or_waiting--;
}

/* Whether something that happened at `t` counts: within the step's measured span. */
static int counted(const run *r, int64_t t) {
    return t >= r->count_from && t <= r->stop_at;
}

/* The connection failed at `at`: count the error, close it, and connect again in 10 ms. */
static void client_fail(run *r, client *c, int index, int64_t at) {
    r->errors += counted(r, at);
    client_close(r, c);
    c->state = SLEEPING;
    heap_push(&r->timers, now_ns() + 10000000, index);
}

static void client_send(run *r, client *c, int index);

static void client_connect(run *r, client *c, int index) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) die("socket");
    nodelay(c->fd);
    struct sockaddr_in addr = loopback(r->port);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = (uint64_t)index};
    epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
        client_send(r, c, index);
    } else if (errno == EINPROGRESS) {
        c->state = CONNECTING;
    } else {
        client_fail(r, c, index, now_ns());
    }
}

static void client_send(run *r, client *c, int index) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)index};
    epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->sent_at = now_ns();
    c->state = AWAITING;
    if (write(c->fd, r->request, r->request_len) != (ssize_t)r->request_len) {
        client_fail(r, c, index, c->sent_at);
    }
}

/* The next request, or the end of this client's step. */
static void client_next(run *r, client *c, int index) {
    if (now_ns() >= r->stop_at) {
        client_done(r, c);
    } else if (c->fd < 0) {
        client_connect(r, c, index);
    } else {
        client_send(r, c, index);
    }
}

/* Parses an answer in c->buf; returns its status once the whole answer is in, 0 before, -1 if it
   cannot be read (no content-length: the agent's answers here all have one). */
static int client_answer(client *c, int *close_after) {
    char *end = memmem(c->buf, (size_t)c->len, "\r\n\r\n", 4);
    if (!end) return c->len == (int)sizeof c->buf ? -1 : 0;
    int head = (int)(end + 4 - c->buf);
    if (c->len < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0) return -1;
    int status = atoi(c->buf + 9);
    long length = -1;
    *close_after = 0;
    for (const char *line = (const char *)memmem(c->buf, (size_t)head, "\r\n", 2) + 2; line < end;) {
        const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        if (strncasecmp(line, "content-length:", 15) == 0) length = atol(line + 15);
        if (strncasecmp(line, "connection:", 11) == 0) {
            const char *v = line + 11;
            while (*v == ' ') v++;
            if (strncasecmp(v, "close", 5) == 0) *close_after = 1;
        }
        line = eol + 2;
    }
    if (length < 0) return -1;
    if (c->len < head + length) return head + length > (long)sizeof c->buf ? -1 : 0;
    return status;
}

static void client_readable(run *r, client *c, int index) {
    ssize_t got = read(c->fd, c->buf + c->len, sizeof c->buf - (size_t)c->len);
    if (got < 0 && errno == EAGAIN) return;
    int64_t now = now_ns();
    if (got <= 0) {
        client_fail(r, c, index, now);
        return;
    }
    c->len += (int)got;
    int close_after = 0;
    int status = client_answer(c, &close_after);
    if (status == 0) return;
    c->len = 0;
    int in_span = counted(r, now);
    if (status == 200) {
        if (in_span) sample_add(&r->ok, now - c->sent_at);
        c->refused_in_a_row = 0;
    } else if (status == 503) {
        r->rejected += in_span;
    } else {
        r->errors += in_span;
    }
    if (status < 0 || close_after) client_close(r, c);
    if (status == 503) {
        int shift = c->refused_in_a_row < 16 ? c->refused_in_a_row : 16;
        int64_t wait = r->backoff_base << shift;
        if (wait > r->backoff_max) wait = r->backoff_max;
        c->refused_in_a_row++;
        wait = wait / 2 + (int64_t)((double)(wait / 2) * ((double)rand() / RAND_MAX));
        if (now + wait >= r->stop_at) {
            client_done(r, c);
        } else {
            c->state = SLEEPING;
            heap_push(&r->timers, now + wait, index);
        }
    } else if (status < 0) {
        c->state = SLEEPING;
        heap_push(&r->timers, now + 10000000, index);
    } else {
        client_next(r, c, index);
    }
}

static void step(int port, const char *request, int clients, double seconds, double warmup,
                 int64_t backoff_base, int64_t backoff_max) {
    run r = {.port = port, .request = request, .request_len = strlen(request),
             .backoff_base = backoff_base, .backoff_max = backoff_max};
    r.ep = epoll_create1(0);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    if (r.ep < 0 || tfd < 0) die("epoll/timerfd");
    struct epoll_event tev = {.events = EPOLLIN, .data.u64 = TIMER_TAG};
    epoll_ctl(r.ep, EPOLL_CTL_ADD, tfd, &tev);
    client *all = calloc((size_t)clients, sizeof(client));
    int64_t start = now_ns();
    r.count_from = start + (int64_t)(warmup * 1e9);
    r.stop_at = start + (int64_t)(seconds * 1e9);
    r.in_flight_or_waiting = clients;
    for (int i = 0; i < clients; i++) {
        all[i].fd = -1;
        client_connect(&r, &all[i], i);
    }
    arm(tfd, &r.timers);
    struct epoll_event events[512];
    while (r.in_flight_or_waiting > 0) {
        int n = wait_events(r.ep, events, 512, 100);
        for (int i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64;
            if (tag == TIMER_TAG) {
                int64_t now = timers_fired(tfd);
                while (r.timers.count > 0 && r.timers.items[0].at <= now) {
                    int index = (int)heap_pop(&r.timers).id;
                    if (all[index].state == SLEEPING) client_next(&r, &all[index], index);
                }
                continue;
            }
            int index = (int)tag;
            client *c = &all[index];
            if (c->fd < 0) continue;
            if (c->state == CONNECTING) {
                int error = 0;
                socklen_t size = sizeof error;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &size);
                if (error) {
                    client_fail(&r, c, index, now_ns());
                } else {
                    client_send(&r, c, index);
                }
            } else if (c->state == AWAITING) {
                client_readable(&r, c, index);
            }
        }
        /* Sleeping clients whose wait ends past the step's end are done now. */
        int64_t now = now_ns();
        if (now >= r.stop_at) {
            for (int i = 0; i < clients; i++) {
                if (all[i].state == SLEEPING) client_done(&r, &all[i]);
            }
        }
        arm(tfd, &r.timers);
    }
    double span = (double)(r.stop_at - r.count_from) / 1e9;
    qsort(r.ok.values, (size_t)r.ok.count, sizeof(int64_t), compare);
    printf("{\"clients\": %d, \"goodput\": %.1f, ", clients, r.ok.count / span);
    if (r.ok.count > 0) {
        int p99 = (int)(0.99 * r.ok.count);
        if (p99 > r.ok.count - 1) p99 = r.ok.count - 1;
        printf("\"p50_ms\": %.3f, \"p99_ms\": %.3f, ", r.ok.values[r.ok.count / 2] / 1e6, r.ok.values[p99] / 1e6);
    } else {
        printf("\"p50_ms\": null, \"p99_ms\": null, ");
    }
    printf("\"rejected_per_s\": %.1f, \"errors\": %ld}\n", r.rejected / span, r.errors);
    fflush(stdout);
    for (int i = 0; i < clients; i++) client_close(&r, &all[i]);
    free(all);
    free(r.ok.values);
    free(r.timers.items);
    close(tfd);
    close(r.ep);
}

static int clients(int argc, char **argv) {
    if (argc < 9) {
        fprintf(stderr, "usage: load clients PORT HOST SECONDS WARMUP BACKOFF_BASE_US BACKOFF_MAX_US N1 [N2 ...]\n");
        return 2;
    }
    int port = atoi(argv[2]);
    char request[512];
    snprintf(request, sizeof request, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", argv[3]);
    double seconds = atof(argv[4]), warmup = atof(argv[5]);
    int64_t backoff_base = atoll(argv[6]) * 1000, backoff_max = atoll(argv[7]) * 1000;
    srand((unsigned)now_ns());
    for (int i = 8; i < argc; i++) step(port, request, atoi(argv[i]), seconds, warmup, backoff_base, backoff_max);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "upstream") == 0) return upstream(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "clients") == 0) return clients(argc, argv);
    fprintf(stderr, "usage: load upstream PORT BASE_US SLOPE_US KNEE | load clients PORT HOST SECONDS ...\n");
    return 2;
}
