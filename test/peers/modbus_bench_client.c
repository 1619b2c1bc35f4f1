/*
 * libmodbus benchmark client: sequential 100-register reads against one Modbus TCP server.
 *
 *   modbus_bench_client HOST PORT [--address 40000] [--count 100] [--seconds 3] [--warmup 0.5] [--unit 1]
 *
 * Connects once, reads `count` holding registers at `address` in a loop (one request in flight,
 * as a real client does) for `warmup` seconds, then counts requests for `seconds`. Prints one
 * JSON line: {"requests":..,"seconds":..,"requestsPerSecond":..,"errors":..,"firstError":..}.
 * A failed request counts as an error; the client reconnects when the connection drops.
 * Exits 1 when it cannot connect or when every request failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        if ((unsigned char)*s < 0x20) continue;
        putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT [--address N] [--count N] [--seconds S] [--warmup S] [--unit N]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    int address = 40000, count = 100, unit = 1;
    double seconds = 3.0, warmup = 0.5;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--address")) address = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--count")) count = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup")) warmup = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--unit")) unit = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (count < 1 || count > MODBUS_MAX_READ_REGISTERS || seconds <= 0) {
        fprintf(stderr, "count must be 1-%d and seconds > 0\n", MODBUS_MAX_READ_REGISTERS);
        return 2;
    }

    modbus_t *ctx = modbus_new_tcp(host, port);
    if (ctx == NULL) {
        fprintf(stderr, "modbus_new_tcp: %s\n", modbus_strerror(errno));
        return 1;
    }
    modbus_set_slave(ctx, unit);
    modbus_set_response_timeout(ctx, 1, 0);
    if (modbus_connect(ctx) == -1) {
        fprintf(stderr, "connect %s:%d: %s\n", host, port, modbus_strerror(errno));
        modbus_free(ctx);
        return 1;
    }

    uint16_t regs[MODBUS_MAX_READ_REGISTERS];
    long requests = 0, errors = 0;
    char first_error[160] = "";
    double start = now_s();
    double measure_from = start + warmup, stop_at = measure_from + seconds;
    int measuring = warmup <= 0;
    double t = start;
    for (;;) {
        int rc = modbus_read_registers(ctx, address, count, regs);
        t = now_s();
        if (!measuring && t >= measure_from) {
            measuring = 1;
            measure_from = t;
            stop_at = t + seconds;
            requests = 0;
            errors = 0;
            first_error[0] = '\0';
            continue;
        }
        if (rc == count) {
            requests++;
        } else {
            errors++;
            if (!first_error[0]) {
                snprintf(first_error, sizeof first_error, "%s", rc == -1 ? modbus_strerror(errno) : "short read");
            }
            if (rc == -1 && (errno == EPIPE || errno == ECONNRESET || errno == EBADF || errno == ETIMEDOUT)) {
                modbus_close(ctx);
                modbus_connect(ctx);
            }
        }
        if (measuring && t >= stop_at) break;
    }
    double elapsed = t - measure_from;
    printf("{\"requests\":%ld,\"seconds\":%.3f,\"requestsPerSecond\":%.1f,\"errors\":%ld,\"registers\":%d,\"address\":%d,\"firstError\":",
           requests, elapsed, elapsed > 0 ? (double)requests / elapsed : 0.0, errors, count, address);
    if (first_error[0]) json_string(first_error);
    else fputs("null", stdout);
    fputs("}\n", stdout);
    modbus_close(ctx);
    modbus_free(ctx);
    return requests > 0 ? 0 : 1;
}
