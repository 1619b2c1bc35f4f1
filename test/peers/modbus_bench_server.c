/*
 * libmodbus Modbus TCP server: the C baseline for GridMesh's benchmarks and client tests.
 *
 *   modbus_bench_server [--host 127.0.0.1] [--port 0] [--address 40000] [--count 1000] [--watch-stdin]
 *
 * Serves `count` holding registers from `address` (register i holds i & 0xFFFF) with
 * modbus_mapping_new_start_address, so other addresses answer exception 2. One client at a
 * time, in a loop (as many small devices do). Port 0 = any free port. When listening, prints
 * {"event":"ready","host":..,"port":N,"address":..,"count":..} on stdout. Runs until SIGTERM or
 * SIGINT; with --watch-stdin also exits when stdin reaches end of file (so a parent that dies
 * cannot leak it).
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <modbus.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *watch_stdin(void *arg) {
    (void)arg;
    char buf[256];
    while (read(STDIN_FILENO, buf, sizeof buf) > 0) {
    }
    _exit(0);
    return NULL;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 0, address = 40000, count = 1000, watch = 0;
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "--watch-stdin")) {
            watch = 1;
            i--;
        } else if (i + 1 >= argc) {
            fprintf(stderr, "option %s needs a value\n", argv[i]);
            return 2;
        } else if (!strcmp(argv[i], "--host")) host = argv[i + 1];
        else if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--address")) address = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--count")) count = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (address < 0 || count < 1 || address + count > 65536) {
        fprintf(stderr, "--address/--count must stay within 0..65535\n");
        return 2;
    }

    modbus_mapping_t *map = modbus_mapping_new_start_address(0, 0, 0, 0, (unsigned)address, (unsigned)count, 0, 0);
    if (map == NULL) {
        fprintf(stderr, "modbus_mapping_new_start_address: %s\n", modbus_strerror(errno));
        return 1;
    }
    for (int i = 0; i < count; i++) map->tab_registers[i] = (uint16_t)((address + i) & 0xFFFF);

    modbus_t *ctx = modbus_new_tcp(host, port);
    if (ctx == NULL) {
        fprintf(stderr, "modbus_new_tcp: %s\n", modbus_strerror(errno));
        return 1;
    }
    int listener = modbus_tcp_listen(ctx, 1);
    if (listener == -1) {
        fprintf(stderr, "listen on %s:%d: %s\n", host, port, modbus_strerror(errno));
        return 1;
    }
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;
    if (getsockname(listener, (struct sockaddr *)&bound, &len) == -1) {
        perror("getsockname");
        return 1;
    }
    pthread_t watcher;
    if (watch) pthread_create(&watcher, NULL, watch_stdin, NULL);
    printf("{\"event\":\"ready\",\"host\":\"%s\",\"port\":%d,\"address\":%d,\"count\":%d}\n", host,
           ntohs(bound.sin_port), address, count);
    fflush(stdout);

    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) {
        int client = modbus_tcp_accept(ctx, &listener);
        if (client == -1) {
            if (errno == EINTR) continue;
            fprintf(stderr, "accept: %s\n", modbus_strerror(errno));
            break;
        }
        for (;;) {
            int rc = modbus_receive(ctx, query);
            if (rc > 0) {
                modbus_reply(ctx, query, rc, map);
            } else if (rc == -1) {
                break; /* client closed the connection or sent garbage: wait for the next one */
            }
        }
        close(client);
    }
    close(listener);
    modbus_mapping_free(map);
    modbus_free(ctx);
    return 1;
}
