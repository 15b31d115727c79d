#ifndef VMPS_NATIVE_H
#define VMPS_NATIVE_H

#include <stdint.h>

/* Which child step failed, reported with its errno when vmps_spawn returns a negative value. */
enum {
    VMPS_STEP_SETSID = 1,
    VMPS_STEP_FDS = 2,
    VMPS_STEP_GROUPS = 3,
    VMPS_STEP_GID = 4,
    VMPS_STEP_UID = 5,
    VMPS_STEP_CHDIR = 6,
    VMPS_STEP_EXEC = 7,
    VMPS_STEP_CTTY = 8,
};

/* Layout shared with SpawnArgs in NativeMethods.cs. */
typedef struct {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;
    int32_t stdin_fd;
    int32_t stdout_fd;
    int32_t stderr_fd;
    int32_t new_session;
    int32_t controlling_tty; /* make stdin (a terminal) the controlling terminal of the new session */
    int32_t set_ids;
    uint32_t uid;
    uint32_t gid;
    int32_t group_count;
    const uint32_t *groups;
} vmps_spawn_args;

/* Forks and execs; returns the child pid, or -errno with *failed_step set. */
int vmps_spawn(const vmps_spawn_args *args, int *failed_step);
int vmps_vsock_listen(uint32_t port);
int vmps_accept(int listen_fd);
int vmps_link_up(const char *name);
/* Opens a pseudo-terminal pair (both close-on-exec) of the given size; returns 0 or -errno. */
int vmps_open_pty(uint16_t columns, uint16_t rows, int *master_fd, int *slave_fd);
/* Sets a terminal's window size; the foreground process group gets SIGWINCH. Returns 0 or -errno. */
int vmps_set_window_size(int fd, uint16_t columns, uint16_t rows);
/* Sets CLOCK_REALTIME; returns 0 or -errno. */
int vmps_set_realtime(int64_t seconds, int64_t nanoseconds);
int vmps_set_mac(const char *name, const uint8_t *mac);
int vmps_reseed_random(const uint8_t *bytes, int32_t length);
int vmps_load_module(int fd);
/* IPv4 addresses in network byte order. Each returns 0 or -errno. */
int vmps_set_ipv4(const char *name, uint32_t address, uint32_t netmask, int32_t mtu);
int vmps_set_default_route(const char *name, uint32_t gateway);

/* The step of vmps_listen_isolated that failed. */
enum {
    VMPS_ISOLATED_NAMESPACE = 1,
    VMPS_ISOLATED_VETH = 2,
    VMPS_ISOLATED_ADDRESS = 3,
    VMPS_ISOLATED_LISTEN = 4,
    VMPS_ISOLATED_LINK_ADDRESS = 5,
};

/*
 * A TCP listener on peer_address:port in a new network namespace of its own, joined to the caller's by the veth
 * pair link (caller's side, link_address) and peer (new side, peer_address), both with netmask. The namespace
 * lives as long as the returned socket; the caller's namespace keeps the port free. Returns the socket or -errno
 * with *failed_step set.
 */
int vmps_listen_isolated(const char *link, const char *peer, uint32_t link_address, uint32_t peer_address,
                         uint32_t netmask, uint16_t port, int *failed_step);

#endif
